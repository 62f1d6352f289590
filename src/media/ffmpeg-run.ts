import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type Ffmpeg from "fluent-ffmpeg";
import { PermanentError, TransientError } from "../errors.js";
import { findExecutable } from "../find-executable.js";
import { inputArg, inputProblem, isProgressLine, type MediaError, mediaError, splitLines } from "./ffmpeg-shared.js";

/**
 * Running one ffmpeg command for ffmpeg.ts: the only module that loads fluent-ffmpeg, and only
 * when the first command runs, so that a cron run without media jobs never pays for it. The
 * output goes to `<final>.tmp-<random>.<ext>` beside the final name and is renamed when ffmpeg
 * has finished; the temporary is removed on failure and on abort. An abort kills ffmpeg with
 * SIGKILL (it has no children), waits for it to exit, removes the temporary and rejects with
 * `signal.reason`. Errors are MediaErrors (ffmpeg-shared.ts).
 */

export interface FfmpegJob {
  file: string;
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

/** ffmpeg ran but wrote nothing: no frame or no audio where the job asked for it. */
export class NoOutputError extends PermanentError {}

type FluentFfmpeg = typeof Ffmpeg;
let loaded: Promise<FluentFfmpeg> | undefined;

/**
 * fluent-ffmpeg, with the ffmpeg binary found beforehand: when spawning fails (no such file,
 * not executable), fluent-ffmpeg 2.1.3 throws a TypeError from inside a child-process event
 * handler ("reading 'get'" of an undefined stderr ring) that would take the whole runner down.
 * Finding it ourselves also spares fluent-ffmpeg's `which ffmpeg`.
 */
function fluent(): Promise<FluentFfmpeg> {
  loaded ??= (async () => {
    const binary = findExecutable(process.env.FFMPEG_PATH || "ffmpeg");
    if (!binary) throw new PermanentError("ffmpeg is not installed (or FFMPEG_PATH is wrong)");
    const ffmpeg = (await import("fluent-ffmpeg")).default;
    ffmpeg.setFfmpegPath(binary);
    return ffmpeg;
  })();
  // Installing ffmpeg should not need a restart: forget a failed lookup.
  loaded.catch(() => (loaded = undefined));
  return loaded;
}

/**
 * Before its first run in a process, fluent-ffmpeg spawns `ffmpeg -formats` and `ffmpeg -encoders`
 * (about 0.2 s, more than 1.5× a short job's own time) only to check "-f" and "-vcodec" options that
 * ffmpeg checks anyway — and we pass neither through its API. Skipped on this instance; ffmpeg's
 * own "Unknown encoder" is classified below. Were the methods renamed, this is simply inert.
 */
function skipCapabilityCheck(command: Ffmpeg.FfmpegCommand): void {
  Object.assign(command, {
    _checkCapabilities: (callback: (error?: Error) => void) => callback(),
    availableEncoders: (callback: (error: Error | null, encoders: Record<string, unknown>) => void) => callback(null, {}),
  });
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

function runFfmpeg(job: FfmpegJob, tmp: string): Promise<void> {
  return fluent().then(
    (ffmpeg) =>
      new Promise<void>((resolve, reject) => {
        const { signal } = job;
        if (signal?.aborted) return reject(signal.reason);
        const input = inputArg(job.file);
        const output = `file:${path.resolve(tmp)}`;
        const command = ffmpeg({ stdoutLines: 100 })
          .input(input)
          // -y ourselves: fluent-ffmpeg adds it only for outputs it takes for files, and a
          // "file:" target is not one of them (it compares "file:" with "file").
          .inputOptions(["-nostdin", "-hide_banner", "-y", ...job.inputOptions])
          .output(output)
          .outputOptions(job.outputOptions);

        skipCapabilityCheck(command);

        let started = false;
        let aborted = false;
        const onAbort = () => {
          aborted = true;
          // Before the spawn (fluent-ffmpeg first checks formats and encoders) there is no
          // process yet: the 'start' handler kills it the moment it exists.
          if (started) command.kill("SIGKILL");
        };
        command.on("start", () => {
          started = true;
          if (aborted) command.kill("SIGKILL");
        });

        if (job.onProgress) {
          const report = job.onProgress;
          const expected = job.expectedSeconds && job.expectedSeconds > 0 ? job.expectedSeconds : undefined;
          let last = 0;
          const emit = (percent: number) => {
            if (percent <= last) return;
            last = percent;
            try {
              report(percent);
            } catch {
              // A failing progress callback must not take ffmpeg's event handling down with it.
            }
          };
          // A 'progress' listener makes fluent-ffmpeg run a second ffprobe of the input in
          // parallel, only to compute its own percent. We know the duration already: answer
          // that probe on this instance instead of spawning a process nobody could kill.
          (command as unknown as { ffprobe: (...args: unknown[]) => void }).ffprobe = (...args: unknown[]) => {
            const callback = args[args.length - 1];
            if (typeof callback === "function") callback(null, { streams: [], format: { duration: expected }, chapters: [] });
          };
          command.on("progress", (p: { timemark?: string }) => {
            const at = timemarkSeconds(p.timemark);
            if (expected && at !== undefined) emit(Math.min(100, Math.floor((at / expected) * 1000) / 10));
          });
          command.on("end", () => emit(100));
        }

        command.on("end", () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        });
        command.on("error", (error: Error, _stdout: string | null, stderr: string | null) => {
          signal?.removeEventListener("abort", onAbort);
          if (aborted || signal?.aborted) return reject(signal?.reason);
          reject(classify(error, splitLines(stderr ?? ""), input, output, job.needs));
        });
        signal?.addEventListener("abort", onAbort, { once: true });
        command.run();
      }),
  );
}

// ---------------------------------------------------------------------------------------
// Errors

function classify(error: Error, lines: string[], input: string, output: string, needs: "video" | "audio"): MediaError {
  const message = error.message;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || /Cannot find ffmpeg/.test(message)) {
    return mediaError(PermanentError, "ffmpeg is not installed (or FFMPEG_PATH is wrong)", lines);
  }
  const killed = /killed with signal (\w+)/.exec(message);
  if (killed) return mediaError(TransientError, `ffmpeg was killed by ${killed[1]}`, lines);
  const missing = lines.map((l) => /Unknown encoder '([^']+)'|No such filter: '([^']+)'|Requested output format '([^']+)' is not/.exec(l)).find((m) => m);
  if (missing) {
    const [, encoder, filter, muxer] = missing;
    const what = encoder ? `${encoder} encoder` : filter ? `${filter} filter` : `${muxer} format`;
    return mediaError(PermanentError, `this ffmpeg has no ${what}`, lines);
  }
  const problem = inputProblem(lines, input);
  if (problem) return problem;
  if (lines.some((l) => /matches no streams/i.test(l))) return mediaError(PermanentError, `the file has no ${needs} track`, lines);
  const aboutOutput = lines.filter((l) => l.includes(output));
  if (aboutOutput.some((l) => /No such file or directory/i.test(l))) return mediaError(PermanentError, "the output folder does not exist", lines);
  if (aboutOutput.some((l) => /Permission denied/i.test(l))) return mediaError(PermanentError, "cannot write to the output folder (permission denied)", lines);
  if (lines.some((l) => /No space left on device/i.test(l))) return mediaError(TransientError, "no space left on device while writing", lines);
  if (!/exited with code/.test(message)) return mediaError(TransientError, `ffmpeg failed: ${firstLine(message)}`, lines);
  return mediaError(TransientError, `ffmpeg failed: ${errorLine(lines) ?? firstLine(message)}`, lines);
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

function firstLine(text: string): string {
  return clip(text.split("\n")[0] ?? "");
}

function clip(text: string): string {
  const t = text.trim();
  return t.length > 200 ? `${t.slice(0, 199)}…` : t;
}

function timemarkSeconds(mark: string | undefined): number | undefined {
  const m = /^(-)?(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(mark ?? "");
  if (!m) return undefined;
  if (m[1]) return 0;
  return Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}
