import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { limitSentence } from "../job/child-sandbox.js";
import { NoOutputError, PermanentError, TransientError } from "../errors.js";
import { findExecutable } from "../find-executable.js";
import { CONFINED_INPUT, inputProblem, isProgressLine, type MediaError, mediaError } from "./ffmpeg-shared.js";
import { INPUT_URL, runTool, type ToolOutcome } from "./tool-run.js";

/**
 * Running one ffmpeg command for ffmpeg.ts, on the opened source (tool-run.ts) with the
 * demuxer ffprobe found and the demuxer allow-list (ffmpeg-shared.ts). The output goes to
 * `<final>.tmp-<random>.<ext>` beside the final name and is renamed when ffmpeg has finished; the temporary is removed on failure and on abort. An abort kills ffmpeg with
 * SIGKILL (it has no children), waits for it to exit, removes the temporary and rejects with
 * `signal.reason`. Errors are MediaErrors (ffmpeg-shared.ts).
 */

export interface FfmpegJob {
  file: string;
  /** The demuxer ffprobe found (ffprobe.ts): the read is pinned to it, never probed again. */
  demuxer: string;
  outFile: string;
  signal?: AbortSignal;
  /** The track the job cannot do without, for the message when the file has none. */
  needs: "video" | "audio";
  inputOptions: string[];
  outputOptions: string[];
  /** Seconds of output expected, for progress. */
  expectedSeconds?: number;
  onProgress?: (percent: number) => void;
}

/** The ffmpeg binary; looked up on each run, so that installing ffmpeg needs no restart. */
function ffmpegBinary(): string {
  const binary = findExecutable(process.env.FFMPEG_PATH || "ffmpeg");
  if (!binary) throw new PermanentError("ffmpeg is not installed (or FFMPEG_PATH is wrong)");
  return binary;
}

/** Runs ffmpeg into a temporary beside `outFile`, then renames it; removes the temporary on any failure. */
export async function produce(job: FfmpegJob): Promise<void> {
  job.signal?.throwIfAborted();
  const ext = path.extname(job.outFile);
  const tmp = `${job.outFile}.tmp-${randomBytes(6).toString("hex")}${ext}`;
  const dir = await fs.stat(path.dirname(path.resolve(job.outFile))).catch(() => undefined);
  if (!dir?.isDirectory()) throw new PermanentError("the output folder does not exist");
  try {
    await runFfmpeg(job, tmp);
    job.signal?.throwIfAborted();
    const stat = await fs.stat(tmp).catch(() => undefined);
    if (!stat || stat.size === 0) {
      throw new NoOutputError(job.needs === "video" ? "ffmpeg found no video frame to write" : "ffmpeg found no audio to write");
    }
    await fs.rename(tmp, job.outFile);
  } catch (error) {
    await fs.rm(tmp, { force: true });
    throw error;
  }
}

async function runFfmpeg(job: FfmpegJob, tmp: string): Promise<void> {
  const output = `file:${path.resolve(tmp)}`;
  const expected = job.expectedSeconds && job.expectedSeconds > 0 ? job.expectedSeconds : undefined;
  const report = job.onProgress;
  let last = 0;
  const emit = (percent: number) => {
    if (!report || percent <= last) return;
    last = percent;
    try {
      report(percent);
    } catch {
      // A failing progress callback must not take ffmpeg's output handling down with it.
    }
  };
  const args = [
    "-nostdin",
    "-hide_banner",
    "-nostats",
    "-y",
    ...(report ? ["-progress", "pipe:1"] : []),
    ...CONFINED_INPUT,
    "-f",
    job.demuxer,
    ...job.inputOptions,
    "-i",
    INPUT_URL,
    ...job.outputOptions,
    output,
  ];
  const run = await runTool({
    binary: ffmpegBinary(),
    args,
    file: job.file,
    signal: job.signal,
    // -progress prints key=value blocks; out_time_us is how far the output has got.
    onStdoutLine: (line) => {
      const at = /^out_time_(?:us|ms)=(\d+)$/.exec(line);
      if (at && expected) emit(Math.min(100, Math.floor((Number(at[1]) / 1e6 / expected) * 1000) / 10));
    },
  });
  const error = classify(run, output, job.needs);
  if (error) throw error;
  emit(100);
}

// ---------------------------------------------------------------------------------------
// Errors

function classify(run: ToolOutcome, output: string, needs: "video" | "audio"): MediaError | undefined {
  const lines = run.stderr;
  if (run.startError) {
    const code = run.startError.code;
    if (code === "ENOENT" || code === "EACCES") return mediaError(PermanentError, "ffmpeg is not installed (or FFMPEG_PATH is wrong)", lines);
    return mediaError(TransientError, `ffmpeg could not start: ${run.startError.message}`, lines);
  }
  if (run.limit) return mediaError(PermanentError, limitSentence("ffmpeg", run.limit), lines);
  if (run.exitCode === 0) return undefined;
  if (run.signal) return mediaError(TransientError, `ffmpeg was killed by ${run.signal}`, lines);
  const missing = lines.map((l) => /Unknown encoder '([^']+)'|No such filter: '([^']+)'|Requested output format '([^']+)' is not/.exec(l)).find((m) => m);
  if (missing) {
    const [, encoder, filter, muxer] = missing;
    const what = encoder ? `${encoder} encoder` : filter ? `${filter} filter` : `${muxer} format`;
    return mediaError(PermanentError, `this ffmpeg has no ${what}`, lines);
  }
  const problem = inputProblem(lines, INPUT_URL);
  if (problem) return problem;
  if (lines.some((l) => /matches no streams/i.test(l))) return mediaError(PermanentError, `the file has no ${needs} track`, lines);
  const aboutOutput = lines.filter((l) => l.includes(output));
  if (aboutOutput.some((l) => /No such file or directory/i.test(l))) return mediaError(PermanentError, "the output folder does not exist", lines);
  if (aboutOutput.some((l) => /Permission denied/i.test(l))) return mediaError(PermanentError, "cannot write to the output folder (permission denied)", lines);
  if (lines.some((l) => /No space left on device/i.test(l))) return mediaError(TransientError, "no space left on device while writing", lines);
  return mediaError(TransientError, `ffmpeg failed: ${errorLine(lines) ?? `exit code ${run.exitCode}`}`, lines);
}

/** The line of stderr that best says what went wrong: the last that sounds like an error, else the last that is not noise. */
function errorLine(lines: string[]): string | undefined {
  const candidates = lines.filter((l) => !isProgressLine(l) && !/^Conversion failed!?$/i.test(l) && !/^video:\d+kB /.test(l));
  const line = candidates.findLast((l) => /error|could not|cannot|invalid|failed|unable|not found|denied|unsupported|too /i.test(l)) ?? candidates.at(-1);
  return line === undefined ? undefined : clip(line);
}

// ---------------------------------------------------------------------------------------
// Small helpers

/** Seconds as ffmpeg reads them on its command line. */
export function seconds(s: number): string {
  return String(Math.round(s * 1000) / 1000);
}

function clip(text: string): string {
  const t = text.trim();
  return t.length > 200 ? `${t.slice(0, 199)}…` : t;
}
