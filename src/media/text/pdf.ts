import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { limitSentence } from "../../job/child-sandbox.js";
import { PermanentError, TransientError } from "../../errors.js";
import type { SubprocessResult } from "../../job/handler.js";
import type { TextContext } from "./text-context.js";
import type { TextCollector } from "./normalise.js";
import { readTextFile } from "./plain.js";

/**
 * PDF text: poppler's pdftotext when it is installed (C++, an order of magnitude faster and
 * run with the job's exec, so killed with the job), else pdfjs-dist in this process. Pages
 * end with a form feed, which normalising turns into a paragraph break. The only module that
 * imports pdfjs-dist.
 */
export type PdfEngine = "pdftotext" | "pdfjs";

export interface PdfText {
  engine: PdfEngine;
  /** The document's pages; unknown when pdftotext's output was read from a file cut at the budget. */
  pages?: number;
}

/** What exec captures of stdout at most (src/job/subprocess.ts); more goes through a file. */
const CAPTURE_LIMIT = 1024 * 1024;

/**
 * How far pdftotext may go. Pages can share one content stream, so a PDF of a few hundred KB
 * can print text without end: it reads at most `maxPages` pages, and its text passing
 * `maxOutputBytes` fails the job (the text kept is far smaller anyway: extractText.maxChars).
 */
export interface PdfLimits {
  maxPages: number;
  maxOutputBytes: number;
}

export const DEFAULT_PDF_LIMITS: PdfLimits = { maxPages: 10_000, maxOutputBytes: 64 * 1024 * 1024 };

export async function extractPdf(
  file: string,
  context: TextContext,
  out: TextCollector,
  engine: PdfEngine | "auto" = "auto",
  limits: PdfLimits = DEFAULT_PDF_LIMITS,
): Promise<PdfText> {
  if (engine !== "pdfjs") {
    const result = await pdftotext(file, context, out, limits);
    if (result) return result;
    if (engine === "pdftotext") throw new PermanentError("pdftotext is not installed (poppler-utils)");
    context.log.info("pdftotext is not installed (poppler-utils); reading the PDF with pdfjs-dist, which is much slower");
  }
  return pdfjs(file, context, out);
}

/** null when pdftotext cannot be started (not installed). */
async function pdftotext(file: string, context: TextContext, out: TextCollector, limits: PdfLimits): Promise<PdfText | null> {
  const argv = (to: string) => ["pdftotext", "-enc", "UTF-8", "-l", String(limits.maxPages), file, to];
  // First into memory, stopped as soon as it prints more than the capture holds.
  const result = await context.exec(argv("-"), { captureStdout: true, outputLimit: { bytes: CAPTURE_LIMIT, setting: "capture" } });
  if (result.startError) return null;
  if (!result.limit || result.limit.what !== "output") {
    check(result);
    const text = result.stdout ?? "";
    out.push(text);
    return { engine: "pdftotext", pages: (text.match(/\f/g) ?? []).length };
  }
  // More than the capture: again into a temporary file, which may grow to maxOutputBytes and
  // no further, and read as much of it as the budget needs.
  const temp = path.join(os.tmpdir(), `offline-jobs-pdftotext-${randomBytes(8).toString("hex")}.txt`);
  try {
    check(await context.exec(argv(temp), { outputLimit: { bytes: limits.maxOutputBytes, setting: "extractText.maxOutputBytes" } }));
    const decoded = await readTextFile(temp, out.budget * 3 + 4);
    out.push(decoded?.text ?? "");
    const all = decoded && !decoded.cut;
    return { engine: "pdftotext", ...(all ? { pages: (decoded.text.match(/\f/g) ?? []).length } : {}) };
  } finally {
    await fs.rm(temp, { force: true });
  }
}

function check(result: SubprocessResult): void {
  if (result.startError) throw new PermanentError(`pdftotext could not be started: ${result.startError}`);
  if (result.limit) throw new PermanentError(limitSentence("pdftotext", result.limit));
  if (result.timedOut) throw new TransientError("pdftotext timed out");
  if (result.cancelled) throw new TransientError("pdftotext was stopped");
  if (result.signal) throw new TransientError(`pdftotext was killed by ${result.signal}`);
  // pdftotext's exit codes: 1 cannot open (damaged, or a password is needed), 3 permissions.
  if (result.exitCode === 1) throw new PermanentError("corrupt PDF, or one that needs a password (pdftotext could not open it)");
  if (result.exitCode === 3) throw new PermanentError("the PDF's permissions do not allow copying its text");
  if (result.exitCode !== 0) throw new PermanentError(`corrupt PDF (pdftotext exited with code ${result.exitCode})`);
}

async function pdfjs(file: string, context: TextContext, out: TextCollector): Promise<PdfText> {
  // The legacy build runs on Node 20 (the modern one needs newer built-ins); in Node it uses
  // a "fake" worker in this thread, so the signal is checked between pages.
  const { getDocument } = await import("pdfjs-dist/legacy/build/pdf.mjs");
  const data = new Uint8Array(await fs.readFile(file));
  const task = getDocument({ data, isEvalSupported: false, disableFontFace: true, useSystemFonts: false, verbosity: 0 });
  let document;
  try {
    document = await task.promise;
  } catch (error) {
    await task.destroy();
    const name = (error as Error).name;
    if (name === "PasswordException") throw new PermanentError("the PDF needs a password");
    throw new PermanentError(`corrupt PDF: ${(error as Error).message}`);
  }
  try {
    const pages = document.numPages;
    for (let n = 1; n <= pages && !out.full; n++) {
      context.signal.throwIfAborted();
      const page = await document.getPage(n);
      const content = await page.getTextContent();
      for (const item of content.items) {
        if (!("str" in item)) continue; // marked-content markers carry no text
        out.push(item.str);
        if (item.hasEOL) out.push("\n");
      }
      out.push("\f");
      page.cleanup();
      context.progress?.((n / pages) * 90);
    }
    return { engine: "pdfjs", pages };
  } catch (error) {
    if (context.signal.aborted || error instanceof PermanentError) throw error;
    throw new PermanentError(`corrupt PDF: ${(error as Error).message}`);
  } finally {
    await document.destroy();
  }
}
