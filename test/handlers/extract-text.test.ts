import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { runCli, writeConfig } from "../helpers/cli.js";
import { makeDocx, makeOds, makeOdt, makePptx, makeXlsx } from "../helpers/documents.js";
import { useTestEnvironment } from "../helpers/environment.js";
import { makePdf } from "../helpers/media.js";

/** extract_text through the real CLI and a real database, with the text sink writing into a table of the test's own. */
let config: string;
let capped: string;
let files: string;
const file = (name: string) => path.join(files, name);

const SINK = "UPDATE resource_text SET body = :text, field = :field WHERE resource = :resource";

const env = useTestEnvironment("oj-extract-", async () => {
  files = path.join(env.dir, "files");
  fs.mkdirSync(files);
  await env.db.query("CREATE TABLE resource_text (resource INT PRIMARY KEY, field INT, body MEDIUMTEXT) CHARACTER SET utf8mb4");
  await env.db.query("INSERT INTO resource_text (resource) VALUES (1), (2), (3)");

  makePdf(file("letter.pdf"), ["First page of the letter", "Second page (continued)", "Third page & last"]);
  makePdf(file("scan.pdf"), [""]);
  makeDocx(
    file("report.docx"),
    [["Quarterly report"], ["Sales rose", "\t", "by 5% & more"]],
    [
      ["Region", "Total"],
      ["North", "42"],
    ],
  );
  const docx = fs.readFileSync(file("report.docx"));
  fs.writeFileSync(file("truncated.docx"), docx.subarray(0, Math.floor(docx.length / 2)));
  makeOdt(file("minutes.odt"), "Minutes", ["Present:  Ann and Bob", "Décisions prises"]);
  makePptx(file("talk.pptx"), [["Title slide"], ["Second slide", "a point"]]);
  makeXlsx(file("sheet.xlsx"), [
    ["Name", "Count", "Done"],
    ["apples", 12, true],
    ["pears", 3.5, false],
  ]);
  makeOds(file("table.ods"), [
    ["City", "Country"],
    ["Zürich", "Switzerland"],
  ]);
  fs.writeFileSync(
    file("page.html"),
    `<!DOCTYPE html><html><head><title>Not shown</title><style>body { color: red }</style>
     <script>var hidden = "<p>nope</p>";</script></head>
     <body><h1>Caf&eacute; &amp; Bar</h1><p>Open&nbsp;daily,
       7&ndash;9.</p><noscript>enable scripts</noscript><template><p>inert</p></template>
     <ul><li>one</li><li>two</li></ul><p hidden>secret</p></body></html>`,
  );
  fs.writeFileSync(file("latin1.txt"), Buffer.from("Gr\xfc\xdfe aus K\xf6ln \x96 \x93caf\xe9\x94\r\n", "latin1"));
  fs.writeFileSync(file("utf16.txt"), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("Ünïcödé text, 日本語\n", "utf16le")]));
  fs.writeFileSync(file("notes.md"), "# Notes\n\n\n\n\nSome   *markdown*\twith\u0000 a NUL.\n");
  await sharp({ create: { width: 64, height: 64, channels: 3, background: "#808080" } })
    .jpeg()
    .toFile(file("photo.jpg"));
  fs.writeFileSync(file("random.bin"), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));

  const base = {
    database: { url: env.db.url },
    lockDir: path.join(env.dir, "locks"),
    paths: { readRoots: [files] },
    types: { extract_text: { maxAttempts: 1 } },
  };
  config = writeConfig(env.dir, { ...base, extractText: { sink: { sql: SINK } } });
  capped = writeConfig(env.dir, { ...base, extractText: { maxChars: 40, excerptChars: 20 } }, "capped.json");
});

async function extract(data: Record<string, unknown>, options: { config?: string; env?: NodeJS.ProcessEnv } = {}) {
  const ref = await env.db.insertJob("extract_text", data);
  const run = await runCli(["--job", String(ref)], { config: options.config ?? config, env: options.env, timeoutMs: 60_000 });
  const [row] = await env.db.query<Record<string, any>>("SELECT status, error, result, log FROM job_queue WHERE ref = ?", [ref]);
  return { run, row: row!, result: row!.result ? JSON.parse(row!.result) : null };
}

async function sinkRow(resource: number) {
  const [row] = await env.db.query<{ field: number | null; body: string | null }>("SELECT field, body FROM resource_text WHERE resource = ?", [resource]);
  return row!;
}

test("a multi-page PDF through pdftotext: text, chars, engine, excerpt, pages, and the sink row", async () => {
  const { row, result } = await extract({ source: file("letter.pdf"), resource: 1, field: 8 });
  assert.equal(row.status, "complete", row.error);
  const text = "First page of the letter\n\nSecond page (continued)\n\nThird page & last";
  assert.equal(result.engine, "pdftotext");
  assert.equal(result.chars, text.length);
  assert.equal(result.pages, 3);
  assert.equal(result.excerpt, text.replace(/\n+/g, " "));
  assert.equal(result.stored, 1);
  assert.equal(result.text, undefined, "with a sink the text is not duplicated into the job row");
  assert.equal(result.truncated, undefined);
  assert.deepEqual(await sinkRow(1), { field: 8, body: text });
});

test("without pdftotext on the PATH the PDF is read by pdfjs-dist, with the same text", async () => {
  const { row, result } = await extract({ source: file("letter.pdf"), resource: 2 }, { env: { PATH: path.join(env.dir, "no-such-bin") } });
  assert.equal(row.status, "complete", row.error);
  assert.equal(result.engine, "pdfjs");
  assert.equal(result.pages, 3);
  assert.match(row.log, /pdftotext is not installed/);
  assert.equal((await sinkRow(2)).body, "First page of the letter\n\nSecond page (continued)\n\nThird page & last");
  assert.equal((await sinkRow(2)).field, null, "no field given: :field is NULL");
});

test("a PDF without a text layer completes with empty text and a note, and the sink gets the empty text", async () => {
  await env.db.query("UPDATE resource_text SET body = 'old text' WHERE resource = 3");
  const { row, result } = await extract({ source: file("scan.pdf"), resource: 3 });
  assert.equal(row.status, "complete", row.error);
  assert.equal(result.chars, 0);
  assert.equal(result.excerpt, "");
  assert.equal(result.note, "no text layer; OCR is not available");
  assert.equal((await sinkRow(3)).body, "");
});

test("office documents: DOCX, ODT, PPTX, XLSX and ODS", async () => {
  const cases: Array<[string, string, string]> = [
    ["report.docx", "docx", "Quarterly report\nSales rose by 5% & more\nRegion Total\nNorth 42"],
    ["minutes.odt", "odt", "Minutes\nPresent: Ann and Bob\nDécisions prises"],
    ["talk.pptx", "pptx", "Title slide\n\nSecond slide\na point"],
    ["sheet.xlsx", "xlsx", "Name Count Done\napples 12 TRUE\npears 3.5 FALSE"],
    ["table.ods", "ods", "City Country\nZürich Switzerland"],
  ];
  for (const [name, engine, text] of cases) {
    const { row, result } = await extract({ source: file(name), resource: 1 });
    assert.equal(row.status, "complete", `${name}: ${row.error}`);
    assert.equal(result.engine, engine, name);
    assert.equal((await sinkRow(1)).body, text, name);
    assert.equal(result.chars, text.length, name);
  }
});

test("HTML: only visible text, entities decoded, blocks on lines of their own", async () => {
  const { row, result } = await extract({ source: file("page.html"), resource: 1 });
  assert.equal(row.status, "complete", row.error);
  assert.equal(result.engine, "html");
  assert.equal((await sinkRow(1)).body, "Café & Bar\n\nOpen daily, 7–9.\n\none\ntwo");
});

test("plain text: Latin-1 (Windows-1252) fallback, UTF-16 with BOM, Markdown with control characters", async () => {
  const cases: Array<[string, string, string]> = [
    ["latin1.txt", "windows-1252", "Grüße aus Köln – “café”"],
    ["utf16.txt", "utf-16le", "Ünïcödé text, 日本語"],
    ["notes.md", "utf-8", "# Notes\n\nSome *markdown* with a NUL."],
  ];
  for (const [name, encoding, text] of cases) {
    const { row, result } = await extract({ source: file(name), resource: 1 });
    assert.equal(row.status, "complete", `${name}: ${row.error}`);
    assert.deepEqual([result.engine, result.encoding], ["text", encoding], name);
    assert.equal((await sinkRow(1)).body, text, name);
  }
});

test("maxChars caps the text and says so; excerptChars bounds the excerpt; no sink configured", async () => {
  const { row, result } = await extract({ source: file("letter.pdf"), resource: 1 }, { config: capped });
  assert.equal(row.status, "complete", row.error);
  assert.equal(result.chars, 40);
  assert.equal(result.truncated, true);
  assert.equal(result.excerpt, "First page of the…");
  assert.ok(result.excerpt.length <= 20);
  assert.equal(result.stored, undefined);
  assert.equal(result.text, "First page of the letter\n\nSecond page (c", "without a sink the text is kept in the result");
  assert.match(row.log, /no extractText\.sink/);
});

test("unsupported and corrupt files fail permanently with a clear sentence", async () => {
  const cases: Array<[string, RegExp]> = [
    ["photo.jpg", /^not a document offline-jobs can read text from \(image\/jpeg\)$/],
    ["random.bin", /^not a document offline-jobs can read text from \(application\/octet-stream\)$/],
    ["truncated.docx", /^corrupt DOCX: .*(central directory|truncated)/i],
    ["missing.pdf", /^source file not found: /],
  ];
  for (const [name, expected] of cases) {
    const { row } = await extract({ source: file(name), resource: 1 });
    assert.equal(row.status, "failed", `${name} should fail`);
    assert.match(row.error, expected, `${name}: ${row.error}`);
  }
  const outside = await extract({ source: "/etc/hostname" });
  assert.equal(outside.row.status, "failed");
  assert.match(outside.row.error, /outside the allowed roots/);
});
