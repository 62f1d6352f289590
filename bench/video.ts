/**
 * Video preview benchmark (node dist/bench/video.js): makeVideoClip against the same ffmpeg
 * command line run directly with execFile, in the same run, interleaved. Target (docs/benchmarks.md, "Media, zip and text extraction"):
 * the module's median time ≤ 1.05× the direct command's.
 *
 * Source: 20 s of 1920×1080 testsrc2 with a sine tone (H.264/AAC MP4), generated in a temp dir.
 * Clip: at most 10 s, 640 wide, crf 28, AAC 96k. The module gets the duration as a hint, as the
 * create_previews handler does (it has probed the file already), though the module's own
 * probe for the demuxer it pins is part of its time; the table shows every run, and the
 * median is of 3. The module's ffmpeg also starts under prlimit and reads the source through
 * an inherited descriptor; the direct command reads it by name.
 *
 * While the module's ffmpeg runs, its command line is read from /proc and compared with the
 * direct one (output names aside), so that the two sides are known to do the same work.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { makeVideoClip, videoClipOutputOptions } from "../src/media/ffmpeg.js";
import { CONFINED_INPUT } from "../src/media/ffmpeg-shared.js";
import { probeMedia } from "../src/media/ffprobe.js";
import { childFfmpegs } from "../test/helpers/media.js";

const run = promisify(execFile);
const RUNS = 3;
const TARGET = 1.05;
const options = { maxSeconds: 10, maxWidth: 640, crf: 28, audioBitrate: "96k" };

/** The arguments makeVideoClip gives ffmpeg (src/media/ffmpeg-run.ts), the input by name instead of /dev/fd/3. */
function directArgs(source: string, out: string): string[] {
  return [
    "-nostdin",
    "-hide_banner",
    "-nostats",
    "-y",
    "-progress",
    "pipe:1",
    ...CONFINED_INPUT,
    "-f",
    "mov",
    "-i",
    `file:${source}`,
    ...videoClipOutputOptions(options),
    `file:${out}`,
  ];
}

function shellQuote(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`.padStart(9);

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-video-"));
  try {
    const source = path.join(dir, "source.mp4");
    process.stderr.write("generating a 20 s 1920×1080 testsrc2 + sine MP4…\n");
    await run("ffmpeg", [
      "-v",
      "error",
      "-nostdin",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=1920x1080:rate=25:duration=20",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:duration=20",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-pix_fmt",
      "yuv420p",
      "-c:a",
      "aac",
      "-shortest",
      source,
    ]);
    const { duration } = await probeMedia(source);

    const moduleMs: number[] = [];
    const directMs: number[] = [];
    let seenArgv: string[] | undefined;
    const directOut = path.join(dir, "direct.mp4");
    const direct = directArgs(source, directOut);

    for (let i = 0; i < RUNS; i++) {
      const out = path.join(dir, `module-${i}.mp4`);
      let t = performance.now();
      await makeVideoClip(
        source,
        out,
        options,
        () => {
          seenArgv ??= childFfmpegs()[0]?.argv;
        },
        undefined,
        duration,
      );
      moduleMs.push(performance.now() - t);

      t = performance.now();
      await run("ffmpeg", direct, { maxBuffer: 64 * 1024 * 1024 });
      directMs.push(performance.now() - t);
      process.stderr.write(`run ${i + 1}/${RUNS}: module ${fmt(moduleMs[i]!).trim()}, direct ${fmt(directMs[i]!).trim()}\n`);
    }

    // Same work? Compare the module's ffmpeg argv with ours, the output names aside.
    const input = (a: string) => a === "file:/dev/fd/3" || a === `file:${source}`;
    const normalise = (argv: string[]) =>
      argv.slice(argv.indexOf("-nostdin")).map((a) => (input(a) ? "file:<input>" : a.startsWith(`file:${dir}/`) ? "file:<output>" : a));
    const same = seenArgv ? JSON.stringify(normalise(seenArgv)) === JSON.stringify(normalise(["ffmpeg", ...direct])) : undefined;
    const sizes = [fs.statSync(path.join(dir, "module-0.mp4")).size, fs.statSync(directOut).size];

    const ratio = median(moduleMs) / median(directMs);
    const row = (name: string, xs: number[]) => `${name.padEnd(18)}${xs.map(fmt).join("")}${fmt(median(xs))}`;
    console.log(
      `video clip: 20 s 1920×1080 testsrc2 + sine → ≤ ${options.maxSeconds} s, ≤ ${options.maxWidth} px wide, crf ${options.crf}, AAC ${options.audioBitrate}`,
    );
    console.log(`${"".padEnd(18)}${Array.from({ length: RUNS }, (_, i) => `run ${i + 1}`.padStart(9)).join("")}${"median".padStart(9)}`);
    console.log(row("makeVideoClip", moduleMs));
    console.log(row("ffmpeg directly", directMs));
    console.log(`ratio (medians): ${ratio.toFixed(3)}×   target ≤ ${TARGET}×   ${ratio <= TARGET ? "met" : "NOT MET"}`);
    console.log(`output bytes: module ${sizes[0]}, direct ${sizes[1]}`);
    console.log(`same ffmpeg arguments as the module's (read from /proc): ${same === undefined ? "not seen" : same ? "yes" : "NO"}`);
    console.log(`command: ffmpeg ${shellQuote(direct)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
