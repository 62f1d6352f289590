/**
 * Text extraction benchmark (docs/benchmarks.md, "Media, zip and text extraction"): a generated 200-page PDF (a few lines of text a page)
 * through extract_text's two PDF engines, poppler's pdftotext (run as a subprocess the way a
 * job runs it) and pdfjs-dist (in this process, the fallback when poppler is missing).
 * Prints the median time of N runs and the characters each produced. Exits 1 only if
 * something broke or the engines disagree on the text, not on speed.
 *
 *   tsc -p . && node dist/bench/extract.js [--pages 200] [--repeat 3]
 */
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { JobLogger } from "../src/job/handler.js";
import { extractText } from "../src/media/text/extract.js";
import type { TextContext } from "../src/media/text/text-context.js";
import type { PdfEngine } from "../src/media/text/pdf.js";
import { runSubprocess } from "../src/job/subprocess.js";
import { makeTempDir } from "../test/helpers/cli.js";
import { makeTextPdf } from "../test/helpers/documents.js";
import { median } from "./stats.js";

const { values } = parseArgs({ options: { pages: { type: "string", default: "200" }, repeat: { type: "string", default: "3" } } });
const pages = Number(values.pages);
const repeat = Number(values.repeat);

const log: JobLogger = { info: () => undefined, warn: console.warn, error: console.error, output: () => undefined };
const signal = new AbortController().signal;
const context: TextContext = { signal, log, exec: (argv, options = {}) => runSubprocess(argv, { ...options, signal, log }) };

const dir = makeTempDir("oj-bench-extract-");
try {
  const file = makeTextPdf(path.join(dir, "bench.pdf"), pages, 8);
  console.log(`${pages}-page PDF, ${(fs.statSync(file).size / 1024).toFixed(0)} KiB; median of ${repeat} runs each`);
  const texts: Record<string, string> = {};
  const times: Record<string, number> = {};
  for (const engine of ["pdftotext", "pdfjs"] as PdfEngine[]) {
    const runs: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const start = performance.now();
      const found = await extractText(file, context, { maxChars: 100_000_000, pdfEngine: engine });
      runs.push(performance.now() - start);
      texts[engine] = found.text;
      if (found.pages !== pages) throw new Error(`${engine} read ${found.pages} pages, not ${pages}`);
    }
    times[engine] = median(runs);
    console.log(
      `${engine.padEnd(10)} ${times[engine]!.toFixed(0).padStart(6)} ms  ${texts[engine]!.length} chars  (runs: ${runs.map((t) => t.toFixed(0)).join(", ")} ms)`,
    );
  }
  console.log(`pdfjs-dist / pdftotext: ${(times.pdfjs! / times.pdftotext!).toFixed(1)}×`);
  // Spacing may differ between the engines; the words must not.
  const words = (text: string) => text.split(/\s+/).join(" ");
  if (words(texts.pdftotext!) !== words(texts.pdfjs!)) {
    console.error("the two engines produced different text");
    process.exitCode = 1;
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
