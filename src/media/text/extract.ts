import fs from "node:fs/promises";
import { PermanentError } from "../../errors.js";
import { detectType } from "../detect.js";
import { htmlToText } from "./html.js";
import type { TextContext } from "./text-context.js";
import { capText, normaliseText, rawBudget, TextCollector } from "./normalise.js";
import { extractOffice, isOfficeCandidate } from "./office.js";
import { extractPdf, type PdfEngine, type PdfLimits } from "./pdf.js";
import { isHtml, readTextFile, utf16Bom, type TextEncoding } from "./plain.js";

/**
 * A document → its normalised text, capped. The format comes from the content: file-type's
 * signatures for PDF and the zip-based office formats (office.ts then looks inside the zip),
 * and for what file-type does not know, a sniff: text bytes are plain text or HTML, anything
 * else is refused. The format libraries are imported only by the module that needs them.
 */

export interface ExtractOptions {
  maxChars: number;
  /** "auto": pdftotext when installed, else pdfjs-dist. */
  pdfEngine?: PdfEngine | "auto";
  /** pdftotext's bounds (extractText.maxPages, extractText.maxOutputBytes); the schema's defaults when absent. */
  pdfLimits?: PdfLimits;
}

export interface ExtractedText {
  /** Normalised, at most maxChars UTF-16 code units. */
  text: string;
  /** Something was left out: the text was capped, or the file was not read to its end. */
  truncated: boolean;
  /** pdftotext, pdfjs, docx, pptx, xlsx, odt, ods, odp, html or text. */
  engine: string;
  mime: string;
  encoding?: TextEncoding;
  pages?: number;
  /** Why the text is empty. */
  note?: string;
}

/** Bytes of a text or HTML file read at most: enough for maxChars, a bound on memory. */
const textBytes = (maxChars: number) => Math.max(maxChars * 4, 32 * 1024 * 1024);

/** Types file-type reports that may be text after all (it knows few text formats: XML, a few text/…). */
const maybeText = (mime: string) => mime === "application/octet-stream" || mime === "application/xml" || mime.startsWith("text/");

const HINTS: Record<string, string> = {
  "application/x-cfb": "an old .doc/.xls/.ppt, or a password-protected Office file",
};

export async function extractText(file: string, context: TextContext, options: ExtractOptions): Promise<ExtractedText> {
  const out = new TextCollector(rawBudget(options.maxChars));
  if ((await sizeOf(file)) === 0) return finish(out, { engine: "text", mime: "text/plain" }, options, "empty file");
  // A UTF-16 BOM goes first: file-type takes FF FE for the start of an MPEG audio frame.
  if (await startsWithUtf16Bom(file)) {
    const text = await fromText(file, out, options);
    if (text) return text;
  }
  const detected = await detectType(file);
  context.log.info(`${file}: ${detected.mime}`);

  if (detected.mime === "application/pdf") {
    const pdf = await extractPdf(file, context, out, options.pdfEngine, options.pdfLimits);
    const scanned = pdf.pages !== 0 ? "no text layer; OCR is not available" : "the PDF has no pages";
    return finish(out, { engine: pdf.engine, mime: detected.mime, ...(pdf.pages !== undefined ? { pages: pdf.pages } : {}) }, options, scanned);
  }
  if (isOfficeCandidate(detected.mime)) {
    const office = await extractOffice(file, detected.mime, out, context.signal);
    if (!office) throw unsupported(detected.mime);
    return finish(out, { engine: office.format, mime: office.mime }, options, "no text found");
  }
  const text = maybeText(detected.mime) ? await fromText(file, out, options) : null;
  if (!text) throw unsupported(detected.mime);
  return text;
}

/** Plain text or HTML; null when the bytes are not text. */
async function fromText(file: string, out: TextCollector, options: ExtractOptions): Promise<ExtractedText | null> {
  const decoded = await readTextFile(file, textBytes(options.maxChars));
  if (!decoded) return null;
  if (decoded.cut) out.truncated = true;
  if (isHtml(decoded.text)) {
    await htmlToText(decoded.text, out);
    return finish(out, { engine: "html", mime: "text/html", encoding: decoded.encoding }, options, "no visible text");
  }
  out.push(decoded.text);
  return finish(out, { engine: "text", mime: "text/plain", encoding: decoded.encoding }, options, "no text found");
}

async function startsWithUtf16Bom(file: string): Promise<boolean> {
  const handle = await fs.open(file, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return utf16Bom(buffer.subarray(0, bytesRead)) !== undefined;
  } finally {
    await handle.close();
  }
}

function unsupported(mime: string): PermanentError {
  const hint = HINTS[mime];
  return new PermanentError(`not a document offline-jobs can read text from (${mime}${hint ? `: ${hint}` : ""})`);
}

/** Normalises and caps what was collected; `emptyNote` explains an empty result. */
function finish(out: TextCollector, found: Omit<ExtractedText, "text" | "truncated" | "note">, options: ExtractOptions, emptyNote: string): ExtractedText {
  const { text, truncated } = capText(normaliseText(out.text()), options.maxChars);
  return { text, truncated: truncated || out.truncated, ...found, ...(text === "" ? { note: emptyNote } : {}) };
}

async function sizeOf(file: string): Promise<number> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) throw new PermanentError(`source is not a file: ${file}`);
    return stat.size;
  } catch (error) {
    if (error instanceof PermanentError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new PermanentError(`source file not found: ${file}`);
    throw new PermanentError(`source file cannot be read: ${file} (${code ?? String(error)})`);
  }
}
