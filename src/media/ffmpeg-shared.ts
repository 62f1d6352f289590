import path from "node:path";
import { PermanentError, TransientError } from "../errors.js";

/**
 * What ffmpeg.ts and ffprobe.ts share: their error type and the reading of ffmpeg's and
 * ffprobe's stderr.
 *
 * Errors are PermanentError (input ffmpeg cannot read, no such track) or TransientError
 * (ffmpeg killed, unexpected failure while writing), with a one-line message; the tail of
 * ffmpeg's stderr is on the error's `detail` property for the job log.
 */

/** A PermanentError or TransientError from ffmpeg.ts or ffprobe.ts; `detail` holds the last lines of stderr. */
export type MediaError = (PermanentError | TransientError) & { detail?: string };

export const UNREADABLE = "not an image or video ffmpeg can read";

const DETAIL_LINES = 20;

const UNREADABLE_PATTERNS = [
  /Invalid data found when processing input/i,
  /moov atom not found/i,
  /could not find codec parameters/i,
  /Unknown input format/i,
  /does not contain any stream/i,
  /EBML header parsing failed/i,
  /no decoder found|Decoder \(codec .*\) not found/i,
  /Failed to open codec in avformat_find_stream_info/i,
];

/** A problem with the input file itself (missing, unreadable, not media), or undefined. */
export function inputProblem(lines: string[], input: string): MediaError | undefined {
  const aboutInput = lines.filter((l) => l.includes(input));
  if (aboutInput.some((l) => /No such file or directory/i.test(l))) return mediaError(PermanentError, "source file not found", lines);
  if (aboutInput.some((l) => /Permission denied/i.test(l))) return mediaError(PermanentError, "source file is not readable (permission denied)", lines);
  if (aboutInput.some((l) => /Is a directory/i.test(l))) return mediaError(PermanentError, "source is a directory", lines);
  if (lines.some((l) => UNREADABLE_PATTERNS.some((p) => p.test(l)))) return mediaError(PermanentError, UNREADABLE, lines);
  return undefined;
}

export function mediaError(Kind: typeof PermanentError | typeof TransientError, message: string, lines: string[]): MediaError {
  const error: MediaError = new Kind(message);
  // Progress lines are noise in a log; keep the last one, for where ffmpeg got to.
  const lastProgress = lines.findLastIndex(isProgressLine);
  const kept = lines.filter((l, i) => !isProgressLine(l) || i === lastProgress);
  const detail = kept.slice(-DETAIL_LINES).join("\n");
  if (detail) error.detail = detail;
  return error;
}

/** An input path as ffmpeg must see it: absolute, and never taken for a protocol ("x:y.mp4"). */
export function inputArg(file: string): string {
  return `file:${path.resolve(file)}`;
}

export function splitLines(text: string | undefined | null): string[] {
  return (text ?? "").split(/\r\n|\r|\n/).map((l) => l.trimEnd()).filter((l) => l.trim() !== "");
}

export function isProgressLine(line: string): boolean {
  return /^\s*(frame|size)=/.test(line);
}
