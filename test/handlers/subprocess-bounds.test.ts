import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { runCli, writeConfig } from "../helpers/cli.js";
import { useTestEnvironment } from "../helpers/environment.js";
import { ffmpegPeakRss, makeSharedStreamPdf } from "../helpers/media.js";

/**
 * Decompression bombs in subprocesses (SECURITY.md): an hour of 96 kHz silence in a 550 KB
 * FLAC, whose waveform once took 783 MB, and a PDF whose 3,000 pages share one content
 * stream, whose text pdftotext wrote without bound. Each runs under a memory and an output
 * bound, and passing one fails the job with a sentence that names it.
 */
let files: string;
let out: string;
let temp: string;

const env = useTestEnvironment("oj-bounds-", () => {
  files = path.join(env.dir, "files");
  out = path.join(env.dir, "out");
  temp = path.join(env.dir, "tmp");
  for (const d of [files, out, temp]) fs.mkdirSync(d);
  execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=96000:cl=mono", "-t", "3600", "-c:a", "flac", path.join(files, "hour.flac")]);
  makeSharedStreamPdf(path.join(files, "shared.pdf"), 3000);
});

function config(name: string, extra: Record<string, unknown>): string {
  return writeConfig(
    env.dir,
    {
      database: { url: env.db.url },
      lockDir: path.join(env.dir, "locks"),
      paths: { readRoots: [files], writeRoots: [out] },
      previews: { outputDir: out },
      types: { create_previews: { maxAttempts: 1 }, extract_text: { maxAttempts: 1 } },
      ...extra,
    },
    `${name}.json`,
  );
}

async function runJob(configFile: string, type: string, data: Record<string, unknown>, watch?: () => void) {
  const ref = await env.db.insertJob(type, data);
  const timer = watch ? setInterval(watch, 100) : undefined;
  try {
    // TMPDIR of its own: what pdftotext writes there can be watched, and must be gone after.
    const run = await runCli(["--job", String(ref)], { config: configFile, env: { TMPDIR: temp }, timeoutMs: 120_000 });
    const [row] = await env.db.query<Record<string, any>>("SELECT status, error, result FROM job_queue WHERE ref = ?", [ref]);
    assert.ok(row, `job ${ref} exists; runner said: ${run.stderr}`);
    return { status: row.status as string, error: row.error as string | null, result: row.result ? JSON.parse(row.result) : null };
  } finally {
    clearInterval(timer);
  }
}

test("the waveform of an hour of 96 kHz silence in a small FLAC stays within a small memory bound", async () => {
  fs.mkdirSync(path.join(out, "a"));
  let peak = 0;
  const row = await runJob(
    config("waveform", { previews: { outputDir: path.join(out, "a") } }),
    "create_previews",
    { source: path.join(files, "hour.flac") },
    () => {
      peak = Math.max(peak, ffmpegPeakRss(path.join(out, "a")));
    },
  );
  assert.equal(row.status, "complete", row.error ?? undefined);
  assert.ok(
    row.result.previews.some((p: { size: string }) => p.size === "waveform"),
    "a waveform was made",
  );
  assert.ok(peak > 0, "ffmpeg was seen running");
  assert.ok(peak < 256 * 1024 * 1024, `ffmpeg peaked at ${Math.round(peak / 2 ** 20)} MiB; it must stay under 256 MiB`);
});

test("a subprocess that passes the memory limit fails the job with a sentence naming subprocesses.memoryMiB", async () => {
  fs.mkdirSync(path.join(out, "b"));
  const tight = config("tight", { subprocesses: { memoryMiB: 100 }, previews: { outputDir: path.join(out, "b") } });
  const row = await runJob(tight, "create_previews", { source: path.join(files, "hour.flac") });
  assert.equal(row.status, "failed");
  assert.equal(row.error, "ffmpeg stopped: it passed the 100 MiB memory limit (subprocesses.memoryMiB)");
  assert.deepEqual(
    fs.readdirSync(path.join(out, "b")).filter((n) => n.includes(".tmp-")),
    [],
    "no temporary left behind",
  );
});

test("pdftotext of 3,000 pages sharing one content stream stops at extractText.maxOutputBytes and fails the job saying so", async () => {
  let largest = 0;
  const limited = config("pdf", { extractText: { maxOutputBytes: 4 * 1024 * 1024 } });
  const row = await runJob(limited, "extract_text", { source: path.join(files, "shared.pdf") }, () => {
    for (const name of fs.readdirSync(temp)) largest = Math.max(largest, fs.statSync(path.join(temp, name), { throwIfNoEntry: false })?.size ?? 0);
  });
  assert.equal(row.status, "failed");
  assert.equal(row.error, "pdftotext stopped: its output passed the 4 MiB limit (extractText.maxOutputBytes)");
  assert.ok(largest <= 4 * 1024 * 1024, `pdftotext's temporary file reached ${largest} bytes`);
  assert.deepEqual(fs.readdirSync(temp), [], "the temporary file is removed");
});

test("pdftotext reads at most extractText.maxPages pages", async () => {
  const row = await runJob(config("pages", { extractText: { maxPages: 40 } }), "extract_text", { source: path.join(files, "shared.pdf") });
  assert.equal(row.status, "complete", row.error ?? undefined);
  assert.equal(row.result.pages, 40);
});

test("a command template that passes the memory or the file-size limit fails the job with a sentence naming the setting", async () => {
  const tight = config("commands", {
    subprocesses: { memoryMiB: 100, fileMiB: 1 },
    types: { command: { maxAttempts: 1 } },
    commands: {
      hog: { argv: ["perl", "-e", '$x = "a" x (300 * 1024 * 1024); print length $x'] },
      filler: { argv: ["sh", "-c", 'head -c 3000000 /dev/zero > "$1"', "sh", "{to}"], pathArgs: { to: "write" } },
    },
  });
  const hog = await runJob(tight, "command", { command: "hog" });
  assert.equal(hog.status, "failed");
  assert.equal(hog.error, 'command "hog" stopped: it passed the 100 MiB memory limit (subprocesses.memoryMiB)');
  const filler = await runJob(tight, "command", { command: "filler", args: { to: path.join(out, "zeros.bin") } });
  assert.equal(filler.status, "failed");
  assert.equal(filler.error, 'command "filler" stopped: its output passed the 1 MiB limit (subprocesses.fileMiB)');
  assert.equal(fs.statSync(path.join(out, "zeros.bin")).size, 1024 * 1024, "the file stopped growing at the limit");
});
