/**
 * One zip, made in a process of its own so that its peak memory can be read: bench/zip.ts
 * runs `node dist/bench/zip-worker.js OUT REPEAT FILE…` and reads one JSON line from stdout.
 * Every file goes in REPEAT times (under copy-N/ so that names stay unique), stored.
 */
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { writeZip } from "../src/media/zip.js";

const [out, repeat, ...files] = process.argv.slice(2);
if (!out || !repeat || files.length === 0) {
  process.stderr.write("usage: zip-worker OUT REPEAT FILE…\n");
  process.exit(2);
}
const entries = Array.from({ length: Number(repeat) }, (_, copy) =>
  files.map((source) => ({ source, name: `copy-${copy + 1}/${path.basename(source)}`, store: true })),
).flat();
const totalBytes = entries.reduce((sum, entry) => sum + fs.statSync(entry.source).size, 0);
const started = performance.now();
const result = await writeZip(entries, out, { totalBytes });
process.stdout.write(
  `${JSON.stringify({ ms: performance.now() - started, bytes: result.bytes, entries: result.entries, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
