import fs from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { limitSentence } from "../job/child-sandbox.js";
import { PermanentError, TransientError } from "../errors.js";
import type { JobContext } from "../job/handler.js";
import type { MediaInfo } from "./types.js";

/**
 * PDF pages through poppler's command-line tools (pdfinfo, pdftoppm), run with the job's
 * exec so that they are killed with the job and their errors land in its log. Faster and far
 * smaller than a JavaScript renderer, and what Debian installs with poppler-utils.
 */
type Exec = JobContext["exec"];

export async function pdfInfo(file: string, exec: Exec, signalTimeoutMs = 60_000): Promise<MediaInfo> {
  const result = await exec(["pdfinfo", file], { captureStdout: true, timeoutMs: signalTimeoutMs });
  check(result, "pdfinfo");
  const text = result.stdout ?? "";
  const pages = Number(/^Pages:\s+(\d+)/m.exec(text)?.[1] ?? NaN);
  if (!Number.isInteger(pages) || pages < 1) throw new PermanentError("not a PDF poppler can read (no pages)");
  const size = /^Page size:\s+([\d.]+) x ([\d.]+) pts/m.exec(text);
  return {
    type: "pdf",
    mime: "application/pdf",
    pages,
    ...(size ? { pageWidthPt: Number(size[1]), pageHeightPt: Number(size[2]) } : {}),
    ...(/^Encrypted:\s+yes/m.test(text) ? { encrypted: true } : {}),
  };
}

/**
 * Renders page 1 to a PNG whose longer side is `maxPixels`, in `dir`, and returns its path
 * (the caller removes it). The image pipeline then makes the preview sizes from it.
 */
export async function rasterizeFirstPage(file: string, dir: string, maxPixels: number, exec: Exec, timeoutMs = 300_000): Promise<string> {
  const base = path.join(dir, `.page1-${randomBytes(8).toString("hex")}`);
  const result = await exec(["pdftoppm", "-f", "1", "-l", "1", "-png", "-scale-to", String(maxPixels), "-singlefile", file, base], { timeoutMs });
  try {
    check(result, "pdftoppm");
    await fs.access(`${base}.png`);
  } catch (error) {
    await fs.rm(`${base}.png`, { force: true });
    if (error instanceof PermanentError || error instanceof TransientError) throw error;
    throw new PermanentError("pdftoppm wrote no image for page 1");
  }
  return `${base}.png`;
}

function check(result: Awaited<ReturnType<Exec>>, tool: string): void {
  if (result.startError) throw new PermanentError(`${tool} is not installed (poppler-utils): ${result.startError}`);
  if (result.limit) throw new PermanentError(limitSentence(tool, result.limit));
  if (result.timedOut) throw new TransientError(`${tool} timed out`);
  if (result.cancelled) throw new TransientError(`${tool} was stopped`);
  if (result.signal) throw new TransientError(`${tool} was killed by ${result.signal}`);
  if (result.exitCode !== 0) throw new PermanentError(`not a PDF poppler can read (${tool} exited with code ${result.exitCode})`);
}
