import type { Readable } from "node:stream";
import type { Entry, ZipFile } from "yauzl";
import { PermanentError } from "../../errors.js";
import type { TextCollector } from "./normalise.js";
import { docxEvents, local, odfEvents, pptxEvents, sharedStringEvents, sheetEvents, type XmlEvents } from "./office-xml.js";

/**
 * Office documents are zips of XML parts: DOCX (word/document.xml), PPTX (ppt/slides/slideN.xml
 * in slide order), XLSX (xl/sharedStrings.xml + xl/worksheets/sheetN.xml, cells as text, rows
 * as lines) and OpenDocument (content.xml; ODT, ODS, ODP). What a zip holds is decided from
 * its parts, not its name. Parts are streamed through htmlparser2's XML mode and never held
 * whole; reading stops once the collector is full. The only module that imports yauzl.
 */
export type OfficeFormat = "docx" | "pptx" | "xlsx" | "odt" | "ods" | "odp";

/** Zip-bomb guards: a document's XML is rarely over a few MB, and compresses maybe 10–50×. */
const MAX_ENTRIES = 50_000;
const MAX_PART_BYTES = 256 * 1024 * 1024;
const MAX_TOTAL_BYTES = 1024 * 1024 * 1024;
const MAX_RATIO = 200;
/** The ratio test starts above this size, so that a small all-blank part does not trip it. */
const RATIO_FROM_BYTES = 8 * 1024 * 1024;

const LABELS: Record<string, string> = {
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PPTX",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
  "application/vnd.oasis.opendocument.text": "ODT",
  "application/vnd.oasis.opendocument.spreadsheet": "ODS",
  "application/vnd.oasis.opendocument.presentation": "ODP",
  "application/zip": "zip archive",
};

/** The zip-based types file-type reports that this module may read (it looks inside to be sure). */
export function isOfficeCandidate(mime: string): boolean {
  return Object.hasOwn(LABELS, mime);
}

const MIMES: Record<OfficeFormat, string> = {
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  odt: "application/vnd.oasis.opendocument.text",
  ods: "application/vnd.oasis.opendocument.spreadsheet",
  odp: "application/vnd.oasis.opendocument.presentation",
};

/** Fills `out` from the document; null when the zip is not a document this module knows. */
export async function extractOffice(
  file: string,
  mime: string,
  out: TextCollector,
  signal: AbortSignal,
): Promise<{ format: OfficeFormat; mime: string } | null> {
  const { default: yauzl } = await import("yauzl");
  let label = LABELS[mime] ?? "zip archive";
  let zip: ZipFile;
  try {
    zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false });
  } catch (error) {
    throw new PermanentError(`corrupt ${label}: ${(error as Error).message}`);
  }
  try {
    if (zip.entryCount > MAX_ENTRIES) throw new PermanentError(`${label} has ${zip.entryCount} entries; refusing more than ${MAX_ENTRIES}`);
    const entries = new Map<string, Entry>();
    try {
      for await (const entry of zip.eachEntry()) entries.set(entry.fileName, entry);
    } catch (error) {
      throw new PermanentError(`corrupt ${label}: ${(error as Error).message}`);
    }
    let unpacked = 0;
    const parse = async (name: string, events: XmlEvents, stopWhenFull = true): Promise<void> => {
      const entry = entries.get(name);
      if (!entry) return;
      unpacked += entry.uncompressedSize;
      checkSize(entry, label, unpacked);
      await parsePart(zip, entry, events, label, signal, () => stopWhenFull && out.full);
    };

    const format = await identify(zip, entries, label);
    if (!format) return null;
    label = format.toUpperCase();
    if (format === "docx") {
      await parse("word/document.xml", docxEvents(out));
    } else if (format === "pptx") {
      for (const name of numbered(entries, /^ppt\/slides\/slide(\d+)\.xml$/)) {
        if (out.full) break;
        await parse(name, pptxEvents(out));
        out.newline(2);
      }
    } else if (format === "xlsx") {
      const strings: string[] = [];
      await parse("xl/sharedStrings.xml", sharedStringEvents(strings), false);
      for (const name of numbered(entries, /^xl\/worksheets\/sheet(\d+)\.xml$/)) {
        if (out.full) break;
        await parse(name, sheetEvents(out, strings));
        out.newline(2);
      }
    } else {
      await parse("content.xml", odfEvents(out));
    }
    return { format, mime: MIMES[format] };
  } finally {
    zip.close();
  }
}

async function identify(zip: ZipFile, entries: Map<string, Entry>, label: string): Promise<OfficeFormat | null> {
  const mimetype = entries.get("mimetype");
  if (mimetype && mimetype.uncompressedSize < 200 && entries.has("content.xml")) {
    // OpenDocument names its type in the first, stored entry.
    const type = (await readSmall(zip, mimetype, label)).trim();
    const kind = /^application\/vnd\.oasis\.opendocument\.(text|spreadsheet|presentation)/.exec(type)?.[1];
    if (kind) return kind === "text" ? "odt" : kind === "spreadsheet" ? "ods" : "odp";
  }
  if (entries.has("word/document.xml")) return "docx";
  if (entries.has("xl/workbook.xml")) return "xlsx";
  if (entries.has("ppt/presentation.xml")) return "pptx";
  return null;
}

function checkSize(entry: Entry, label: string, total: number): void {
  const size = entry.uncompressedSize;
  const ratio = size / Math.max(1, entry.compressedSize);
  if (size > MAX_PART_BYTES || (size > RATIO_FROM_BYTES && ratio > MAX_RATIO) || total > MAX_TOTAL_BYTES) {
    throw new PermanentError(
      `${label} part ${entry.fileName} would unpack to ${mb(size)} MB from ${mb(entry.compressedSize)} MB; refusing it as a likely zip bomb`,
    );
  }
  if (entry.isEncrypted()) throw new PermanentError(`encrypted ${label}: cannot read ${entry.fileName}`);
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 0);

async function openPart(zip: ZipFile, entry: Entry, label: string): Promise<Readable> {
  try {
    return await zip.openReadStreamPromise(entry);
  } catch (error) {
    throw new PermanentError(`corrupt ${label}: ${entry.fileName}: ${(error as Error).message}`);
  }
}

async function readSmall(zip: ZipFile, entry: Entry, label: string): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of await openPart(zip, entry, label)) chunks.push(chunk as Buffer);
  } catch (error) {
    if (error instanceof PermanentError) throw error;
    throw new PermanentError(`corrupt ${label}: ${entry.fileName}: ${(error as Error).message}`);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Streams one XML part through the parser; element and attribute names without their prefix. */
async function parsePart(zip: ZipFile, entry: Entry, events: XmlEvents, label: string, signal: AbortSignal, stop: () => boolean): Promise<void> {
  const { Parser } = await import("htmlparser2");
  const parser = new Parser(
    {
      onopentag: (name, attributes) => events.open?.(local(name), attributes),
      onclosetag: (name) => events.close?.(local(name)),
      ontext: (text) => events.text?.(text),
    },
    { xmlMode: true, decodeEntities: true },
  );
  const decoder = new TextDecoder("utf-8");
  const stream = await openPart(zip, entry, label);
  try {
    for await (const chunk of stream) {
      signal.throwIfAborted();
      parser.write(decoder.decode(chunk as Buffer, { stream: true }));
      if (stop()) break; // leaving the loop destroys the stream: the rest is never inflated
    }
  } catch (error) {
    if (signal.aborted || error instanceof PermanentError) throw error;
    throw new PermanentError(`corrupt ${label}: ${entry.fileName}: ${(error as Error).message}`);
  }
  parser.write(decoder.decode());
  parser.end();
}

/** Names matching `pattern` (one number group), in numeric order: slide2 before slide10. */
function numbered(entries: Map<string, Entry>, pattern: RegExp): string[] {
  return [...entries.keys()]
    .map((name) => ({ name, n: Number(pattern.exec(name)?.[1] ?? NaN) }))
    .filter((e) => Number.isFinite(e.n))
    .sort((a, b) => a.n - b.n)
    .map((e) => e.name);
}
