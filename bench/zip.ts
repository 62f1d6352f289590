/**
 * Zip benchmark (docs/benchmarks.md, "Media, zip and text extraction"): 400 MB of incompressible files (40 × 10 MB of random bytes) zipped
 * stored by src/media/zip.ts (what collection_download runs) and by Info-ZIP's `zip -0 -q -r`,
 * alternately in the same run. Target: ≤ 1.0× zip's time, and a peak memory under 100 MB that
 * stays flat when the collection is 4 GB (the same files listed 10 times under unique names).
 * Prints figures; exits 1 only if something broke (not when a target is missed).
 *
 *   tsc -p . && node dist/bench/zip.js [--repeat N (default 3)] [--no-large]
 *
 * Times are medians of N, wall time of a whole process each (a fresh `node` running
 * bench/zip-worker.js, so Node's start and archiver's import count against us). Peak memory
 * is the worker's own max RSS (process.resourceUsage), Node itself included (~40 MB);
 * zip's from /usr/bin/time when that exists. All files live in one temporary folder,
 * removed at the end (also on Ctrl-C).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const FILES = 40;
const FILE_MB = 10;
const LARGE_REPEAT = 10;
const TARGET_RATIO = 1.0;
const TARGET_MB = 100;
const TIME = "/usr/bin/time";
const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), "zip-worker.js");

const { values: args } = parseArgs({ options: { repeat: { type: "string", default: "3" }, "no-large": { type: "boolean", default: false } } });
const repeat = Math.max(1, Number(args.repeat));
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

interface Run {
  ms: number;
  peakMb?: number;
  bytes: number;
}

function run(argv: string[], cwd: string): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ ms: performance.now() - started, code, stdout, stderr }));
  });
}

async function infoZip(out: string, cwd: string, folders: string[]): Promise<Run> {
  const useTime = fs.existsSync(TIME);
  const argv = ["zip", "-0", "-q", "-r", out, ...folders];
  const result = await run(useTime ? [TIME, "-f", "@@%M", ...argv] : argv, cwd);
  if (result.code !== 0) throw new Error(`zip failed (${result.code}): ${result.stderr}`);
  const peak = /@@(\d+)/.exec(result.stderr);
  return { ms: result.ms, peakMb: peak ? Number(peak[1]) / 1024 : undefined, bytes: fs.statSync(out).size };
}

async function ours(out: string, cwd: string, copies: number, files: string[]): Promise<Run & { insideMs: number }> {
  const result = await run([process.execPath, WORKER, out, String(copies), ...files], cwd);
  if (result.code !== 0) throw new Error(`zip-worker failed (${result.code}): ${result.stderr}`);
  const report = JSON.parse(result.stdout) as { ms: number; bytes: number; maxRssMb: number };
  return { ms: result.ms, insideMs: report.ms, peakMb: report.maxRssMb, bytes: report.bytes };
}

async function main(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oj-bench-zip-"));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  try {
    const data = path.join(dir, "data");
    fs.mkdirSync(data);
    progress(`writing ${FILES} × ${FILE_MB} MB of random bytes to ${data}`);
    const files = Array.from({ length: FILES }, (_, i) => path.join(data, `file-${String(i + 1).padStart(2, "0")}.bin`));
    for (const file of files) fs.writeFileSync(file, randomBytes(FILE_MB << 20));
    const out = path.join(dir, "out.zip");
    const zipTimes: Run[] = [];
    const ourTimes: Array<Run & { insideMs: number }> = [];
    for (let i = 0; i < repeat; i++) {
      // Alternating, each from scratch (zip would update an existing archive).
      fs.rmSync(out, { force: true });
      zipTimes.push(await infoZip(out, dir, ["data"]));
      fs.rmSync(out, { force: true });
      ourTimes.push(await ours(out, dir, 1, files));
      progress(`run ${i + 1}/${repeat}: zip -0 ${(zipTimes.at(-1)!.ms / 1000).toFixed(2)} s, offline-jobs ${(ourTimes.at(-1)!.ms / 1000).toFixed(2)} s`);
    }
    // The last archive must be a valid zip with every byte in place.
    const check = await run(["unzip", "-tqq", out], dir);
    if (check.code !== 0) throw new Error(`unzip -t found errors in our zip: ${check.stdout}${check.stderr}`);
    fs.rmSync(out, { force: true });

    let large: { zip: Run; ours: Run } | undefined;
    if (!args["no-large"]) {
      progress(`4 GB: the same files ${LARGE_REPEAT} times (zip through ${LARGE_REPEAT} symlinked folders)`);
      const links = Array.from({ length: LARGE_REPEAT }, (_, i) => `copy-${i + 1}`);
      for (const link of links) fs.symlinkSync(data, path.join(dir, link));
      const zipLarge = await infoZip(out, dir, links);
      fs.rmSync(out, { force: true });
      const oursLarge = await ours(out, dir, LARGE_REPEAT, files);
      fs.rmSync(out, { force: true });
      large = { zip: zipLarge, ours: oursLarge };
    }

    const zipMs = median(zipTimes.map((r) => r.ms));
    const ourMs = median(ourTimes.map((r) => r.ms));
    const insideMs = median(ourTimes.map((r) => r.insideMs));
    const ourPeak = Math.max(...ourTimes.map((r) => r.peakMb ?? 0));
    const zipPeak = zipTimes[0]!.peakMb;
    const mb = (v: number | undefined) => (v === undefined ? "–" : `${v.toFixed(1)} MB`);
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const rows = [
      ["", "collection", "time", "vs zip -0", "peak RSS"],
      ["zip -0 -q -r (Info-ZIP)", "400 MB, 40 files", `${s(zipMs)} (median of ${repeat})`, "1.00×", mb(zipPeak)],
      ["offline-jobs writeZip, store", "400 MB, 40 files", `${s(ourMs)} (median of ${repeat})`, `${(ourMs / zipMs).toFixed(2)}×`, mb(ourPeak)],
      ["  of which inside writeZip", "", s(insideMs), `${(insideMs / zipMs).toFixed(2)}×`, ""],
    ];
    if (large) {
      rows.push(["zip -0 -q -r (Info-ZIP)", "4 GB, 400 files", `${s(large.zip.ms)} (1 run)`, "1.00×", mb(large.zip.peakMb)]);
      rows.push([
        "offline-jobs writeZip, store",
        "4 GB, 400 files",
        `${s(large.ours.ms)} (1 run)`,
        `${(large.ours.ms / large.zip.ms).toFixed(2)}×`,
        mb(large.ours.peakMb),
      ]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const row of rows)
      console.log(
        row
          .map((cell, c) => cell.padEnd(widths[c]!))
          .join("  ")
          .trimEnd(),
      );
    console.log("");
    console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, files and zips in ${os.tmpdir()}`);
    const ratio = ourMs / zipMs;
    const peak = Math.max(ourPeak, large?.ours.peakMb ?? 0);
    console.log(`time: ${ratio.toFixed(2)}× zip -0 (target ≤ ${TARGET_RATIO.toFixed(1)}×) ${ratio <= TARGET_RATIO ? "met" : "MISSED"}`);
    console.log(`memory: peak ${peak.toFixed(1)} MB (target < ${TARGET_MB} MB, flat from 400 MB to 4 GB) ${peak < TARGET_MB ? "met" : "MISSED"}`);
    return 0;
  } finally {
    cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
