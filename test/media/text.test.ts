import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import type { JobLogger } from "../../src/job/handler.js";
import { runSubprocess } from "../../src/job/subprocess.js";
import { extractText } from "../../src/media/text/extract.js";
import type { TextContext } from "../../src/media/text/text-context.js";
import { htmlToText } from "../../src/media/text/html.js";
import { capText, excerptOf, normaliseText, TextCollector } from "../../src/media/text/normalise.js";
import { decodeText, isHtml } from "../../src/media/text/plain.js";
import { makeTempDir } from "../helpers/cli.js";
import { makePptx, makeTextPdf, makeXlsx, makeZip } from "../helpers/documents.js";

/** The extractors without a job: unit cases, and the edges too slow or too odd for the CLI tests. */
const dir = makeTempDir("oj-text-");
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const logged: string[] = [];
const log: JobLogger = { info: (m) => logged.push(m), warn: (m) => logged.push(m), error: (m) => logged.push(m), output: () => undefined };
const signal = new AbortController().signal;
const context: TextContext = { signal, log, exec: (argv, options = {}) => runSubprocess(argv, { ...options, signal, log }) };

test("normaliseText: white space, newlines, controls, NFC, broken surrogates", () => {
  assert.equal(normaliseText("  a \t\u00a0 b  \r\n\r\n\r\n\r\nc\u0000d\u0007\u009f  \n"), "a b\n\ncd");
  assert.equal(normaliseText("page one\fpage two"), "page one\n\npage two");
  assert.equal(normaliseText("Cafe\u0301"), "Caf\u00e9", "NFC");
  assert.equal(normaliseText("x\ud800y"), "x\ufffdy", "a lone surrogate becomes U+FFFD");
  assert.equal(normaliseText("line  \n   next"), "line\nnext");
});

test("capText never splits a surrogate pair; excerptOf cuts at a word and marks it", () => {
  assert.deepEqual(capText("ab😀cd", 3), { text: "ab", truncated: true });
  assert.deepEqual(capText("ab😀cd", 4), { text: "ab😀", truncated: true });
  assert.deepEqual(capText("abc", 3), { text: "abc", truncated: false });
  assert.equal(excerptOf("one two\nthree four five", 14), "one two three…");
  assert.equal(excerptOf("short", 200), "short");
  assert.equal(excerptOf("anything", 0), "");
});

test("TextCollector stops at its budget and remembers that it dropped text", () => {
  const out = new TextCollector(5);
  out.push("abc");
  out.newline();
  out.newline();
  out.push("defgh");
  assert.equal(out.text(), "abc\nd");
  assert.equal(out.full, true);
  assert.equal(out.truncated, true);
});

test("decodeText: UTF-8, BOMs, the Windows-1252 fallback, binary refused", () => {
  assert.deepEqual(decodeText(Buffer.from("żółw ✓")), { text: "żółw ✓", encoding: "utf-8", cut: false });
  assert.equal(decodeText(Buffer.from("\ufeffbom", "utf8"))!.text, "bom");
  assert.equal(decodeText(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from("BE", "utf16le").swap16()]))!.text, "BE");
  assert.deepEqual(decodeText(Buffer.from([0x80, 0x20, 0xe9, 0x20, 0x93, 0x71, 0x94])), { text: "€ é “q”", encoding: "windows-1252", cut: false });
  // A UTF-8 character cut by the read limit does not turn the file into Windows-1252.
  assert.equal(decodeText(Buffer.from("abc é").subarray(0, 5), true)!.encoding, "utf-8");
  assert.equal(decodeText(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52])), null);
  assert.equal(decodeText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.alloc(64)])), null, "FF FE then zeros is not UTF-16 text");
});

test("isHtml looks only at the start of the text", () => {
  assert.ok(isHtml("\n<!DOCTYPE html><p>x"));
  assert.ok(isHtml('<?xml version="1.0"?>\n<!-- c --><html xmlns="http://www.w3.org/1999/xhtml">'));
  assert.ok(!isHtml("How to write <html> by hand"));
});

test("htmlToText: <pre> keeps its spacing, <br> breaks lines, table cells are separated", async () => {
  const out = new TextCollector(10_000);
  await htmlToText("<body><pre>a  b\n  c</pre>x<br>y<br><br>z<table><tr><td>1</td><td>2</td></tr></table><svg><text>icon</text></svg></body>", out);
  assert.equal(normaliseText(out.text()), "a b\nc\n\nx\ny\n\nz\n\n1 2");
});

test("PPTX slides come in numeric order (slide2 before slide10)", async () => {
  const slides = Array.from({ length: 10 }, (_, i) => [`slide ${i + 1}`]);
  const found = await extractText(makePptx(path.join(dir, "ten.pptx"), slides), context, { maxChars: 1000 });
  assert.equal(found.text, slides.map((s) => s[0]).join("\n\n"));
});

test("XLSX: inline strings, formulas' cached values, error cells; text capped while reading", async () => {
  const file = makeZip(path.join(dir, "inline.xlsx"), {
    "[Content_Types].xml": "<Types/>",
    "xl/workbook.xml": "<workbook/>",
    "xl/worksheets/sheet1.xml":
      '<worksheet><sheetData><row><c t="inlineStr"><is><t>inline &amp; rich</t></is></c><c><f>1+1</f><v>2</v></c><c t="e"><v>#DIV/0!</v></c></row></sheetData></worksheet>',
  });
  assert.equal((await extractText(file, context, { maxChars: 1000 })).text, "inline & rich 2 #DIV/0!");
  const big = makeXlsx(
    path.join(dir, "big.xlsx"),
    Array.from({ length: 5000 }, (_, i) => [`row ${i}`, i]),
  );
  const capped = await extractText(big, context, { maxChars: 100 });
  assert.equal(capped.text.length <= 100, true);
  assert.equal(capped.truncated, true);
});

test("zip bombs and zips that are not documents are refused clearly", async () => {
  const bomb = makeZip(path.join(dir, "bomb.docx"), {
    "[Content_Types].xml": "<Types/>",
    "word/document.xml": Buffer.alloc(20 * 1024 * 1024, 0x20),
  });
  await assert.rejects(
    extractText(bomb, context, { maxChars: 1000 }),
    /^PermanentError: DOCX part word\/document\.xml would unpack to 20 MB from 0\.02 MB; refusing it as a likely zip bomb$/,
  );
  const plainZip = makeZip(path.join(dir, "photos.zip"), { "a.txt": "hello" });
  await assert.rejects(extractText(plainZip, context, { maxChars: 1000 }), /not a document offline-jobs can read text from \(application\/zip\)/);
});

test("pdftotext and pdfjs-dist agree on a multi-page PDF", async () => {
  const file = makeTextPdf(path.join(dir, "five.pdf"), 5, 3);
  const poppler = await extractText(file, context, { maxChars: 100_000 });
  const js = await extractText(file, context, { maxChars: 100_000, pdfEngine: "pdfjs" });
  assert.deepEqual([poppler.engine, js.engine, poppler.pages, js.pages], ["pdftotext", "pdfjs", 5, 5]);
  assert.match(poppler.text, /^Page 1 line 1: the quick brown fox jumps over the lazy dog\nPage 1 line 2/);
  assert.equal(js.text.replace(/\s+/g, " "), poppler.text.replace(/\s+/g, " "));
});

test("pdftotext output past exec's 1 MiB capture is read from a file, and capped", async () => {
  const file = makeTextPdf(path.join(dir, "long.pdf"), 2000, 10);
  const all = await extractText(file, context, { maxChars: 2_000_000 });
  assert.ok(all.text.length > 1_100_000, `got ${all.text.length} characters`);
  assert.equal(all.truncated, false);
  assert.equal(all.pages, 2000);
  assert.ok(all.text.endsWith("Page 2000 line 10: the quick brown fox jumps over the lazy dog"));
  const some = await extractText(file, context, { maxChars: 1000 });
  assert.deepEqual([some.text.length <= 1000, some.truncated], [true, true]);
});
