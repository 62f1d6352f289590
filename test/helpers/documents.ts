import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Office documents made on the spot for the extract_text tests: the XML parts written to a
 * temporary folder and zipped with Info-ZIP's `zip`, as small as the readers need (a real
 * word processor writes many more parts, which the extractor ignores).
 */
export function makeZip(file: string, parts: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oj-doc-"));
  try {
    for (const [name, body] of Object.entries(parts)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), body);
    }
    fs.rmSync(file, { force: true });
    const names = Object.keys(parts);
    // OpenDocument wants "mimetype" first and stored (not deflated).
    if (names.includes("mimetype")) execFileSync("zip", ["-q", "-X", "-0", file, "mimetype"], { cwd: dir });
    const rest = names.filter((n) => n !== "mimetype");
    if (rest.length > 0) execFileSync("zip", ["-q", "-X", "-9", file, ...rest], { cwd: dir });
    return file;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';
const CONTENT_TYPES = (overrides: Record<string, string>) =>
  `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
  `<Default Extension="xml" ContentType="application/xml"/>` +
  Object.entries(overrides)
    .map(([part, type]) => `<Override PartName="/${part}" ContentType="application/vnd.openxmlformats-officedocument.${type}"/>`)
    .join("") +
  `</Types>`;

/** Paragraphs are arrays of runs; a run "\t" is a tab. A table row follows if given. */
export function makeDocx(file: string, paragraphs: string[][], table?: string[][]): string {
  const run = (text: string) => (text === "\t" ? "<w:r><w:tab/></w:r>" : `<w:r><w:t xml:space="preserve">${xml(text)}</w:t></w:r>`);
  // Tab stops in the paragraph properties, and a tracked deletion: neither is text.
  const para = (runs: string[]) =>
    `<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>${runs.map(run).join("")}<w:del><w:r><w:delText>deleted</w:delText></w:r></w:del></w:p>`;
  const rows = (table ?? []).map((cells) => `<w:tr>${cells.map((c) => `<w:tc><w:p>${run(c)}</w:p></w:tc>`).join("")}</w:tr>`).join("");
  return makeZip(file, {
    "[Content_Types].xml": CONTENT_TYPES({ "word/document.xml": "wordprocessingml.document.main+xml" }),
    "word/document.xml": `<?xml version="1.0" encoding="UTF-8"?><w:document ${W}><w:body>${paragraphs.map(para).join("")}${rows ? `<w:tbl>${rows}</w:tbl>` : ""}</w:body></w:document>`,
  });
}

/** One slide per array of paragraphs, stored as slide1, slide2, … slideN. */
export function makePptx(file: string, slides: string[][]): string {
  const A = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"';
  const parts: Record<string, string> = {
    "[Content_Types].xml": CONTENT_TYPES({ "ppt/presentation.xml": "presentationml.presentation.main+xml" }),
    "ppt/presentation.xml": `<p:presentation ${A}/>`,
  };
  slides.forEach((paragraphs, i) => {
    const body = paragraphs.map((p) => `<a:p><a:r><a:t>${xml(p)}</a:t></a:r></a:p>`).join("");
    parts[`ppt/slides/slide${i + 1}.xml`] = `<p:sld ${A}><p:cSld><p:spTree><p:sp><p:txBody>${body}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>`;
  });
  return makeZip(file, parts);
}

/** Rows of cells: strings go to the shared strings, numbers and booleans stay in the cell. */
export function makeXlsx(file: string, rows: Array<Array<string | number | boolean>>): string {
  const strings: string[] = [];
  const cell = (value: string | number | boolean) => {
    if (typeof value === "number") return `<c><v>${value}</v></c>`;
    if (typeof value === "boolean") return `<c t="b"><v>${value ? 1 : 0}</v></c>`;
    strings.push(value);
    return `<c t="s"><v>${strings.length - 1}</v></c>`;
  };
  const sheet = rows.map((cells, r) => `<row r="${r + 1}">${cells.map(cell).join("")}</row>`).join("");
  const NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
  return makeZip(file, {
    "[Content_Types].xml": CONTENT_TYPES({ "xl/workbook.xml": "spreadsheetml.sheet.main+xml" }),
    "xl/workbook.xml": `<workbook ${NS}><sheets><sheet name="One" sheetId="1"/></sheets></workbook>`,
    "xl/sharedStrings.xml": `<sst ${NS}>${strings.map((s) => `<si><t>${xml(s)}</t></si>`).join("")}</sst>`,
    "xl/worksheets/sheet1.xml": `<worksheet ${NS}><sheetData>${sheet}</sheetData></worksheet>`,
  });
}

const ODF_NS =
  'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" ' +
  'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.3"';

function makeOdf(file: string, type: "text" | "spreadsheet", body: string): string {
  return makeZip(file, {
    mimetype: `application/vnd.oasis.opendocument.${type}`,
    "META-INF/manifest.xml": `<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.${type}"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>`,
    "content.xml": `<?xml version="1.0" encoding="UTF-8"?><office:document-content ${ODF_NS}><office:automatic-styles/><office:body><office:${type}>${body}</office:${type}></office:body></office:document-content>`,
  });
}

/** A heading and paragraphs; "  " (two spaces) in a paragraph is written as <text:s text:c="2"/>. */
export function makeOdt(file: string, heading: string, paragraphs: string[]): string {
  const para = (p: string) => `<text:p>${xml(p).replace(/ {2,}/g, (s) => `<text:s text:c="${s.length}"/>`)}</text:p>`;
  const comment = `<office:annotation><dc:creator>A</dc:creator><text:p>a comment, not text</text:p></office:annotation>`;
  return makeOdf(file, "text", `<text:h text:outline-level="1">${xml(heading)}</text:h>${comment}${paragraphs.map(para).join("")}`);
}

export function makeOds(file: string, rows: string[][]): string {
  const body = rows
    .map(
      (cells) =>
        `<table:table-row>${cells.map((c) => `<table:table-cell office:value-type="string"><text:p>${xml(c)}</text:p></table:table-cell>`).join("")}</table:table-row>`,
    )
    .join("");
  return makeOdf(file, "spreadsheet", `<table:table table:name="Sheet1">${body}</table:table>`);
}

/** A PDF of `pages` pages with `lines` lines of text each (makePdf has one line a page). */
export function makeTextPdf(file: string, pages: number, lines = 5): string {
  const objects: string[] = ["<< /Type /Catalog /Pages 2 0 R >>"];
  const kids = Array.from({ length: pages }, (_, i) => `${3 + i * 2} 0 R`).join(" ");
  objects.push(`<< /Type /Pages /Kids [${kids}] /Count ${pages} >>`);
  const font = 3 + pages * 2;
  for (let p = 0; p < pages; p++) {
    const text = Array.from({ length: lines }, (_, l) => `(Page ${p + 1} line ${l + 1}: the quick brown fox jumps over the lazy dog) Tj 0 -16 Td`).join(" ");
    const stream = `BT /F1 12 Tf 72 720 Td ${text} ET`;
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${4 + p * 2} 0 R /Resources << /Font << /F1 ${font} 0 R >> >> >>`);
    objects.push(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
  }
  objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
  let body = "%PDF-1.4\n";
  const offsets = objects.map((object, i) => {
    const offset = Buffer.byteLength(body);
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
    return offset;
  });
  const xref = Buffer.byteLength(body);
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  fs.writeFileSync(file, body);
  return file;
}

const xml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
