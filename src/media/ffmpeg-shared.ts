import { PermanentError, TransientError } from "../errors.js";

/**
 * What ffmpeg.ts and ffprobe.ts share: their error type, the reading of ffmpeg's and
 * ffprobe's stderr, and the input options that confine what they read.
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
  const refused = refusedFormat(lines);
  if (refused) return refused;
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

/**
 * The demuxers ffmpeg and ffprobe may use: ordinary containers, elementary streams and single
 * images, each of which reads only its own bytes. Left out on purpose are those that open
 * other files or URLs named inside the file (hls, dash, concat, imf, sdp, rtsp, vobsub, the
 * image2 sequence reader, svg through librsvg) or that read devices and scripts, and the rest
 * of ffmpeg's few hundred rarely used readers (SECURITY.md, "Subprocesses").
 */
export const DEMUXERS = [
  // containers and video streams
  "mov",
  "matroska",
  "avi",
  "flv",
  "mpegts",
  "mpeg",
  "mpegvideo",
  "m4v",
  "h264",
  "hevc",
  "mjpeg",
  "mxf",
  "nut",
  "dv",
  "rm",
  "asf",
  "ogg",
  "ivf",
  "obu",
  "yuv4mpegpipe",
  "gif",
  "apng",
  // audio
  "mp3",
  "aac",
  "ac3",
  "eac3",
  "flac",
  "wav",
  "w64",
  "aiff",
  "amr",
  "ape",
  "wv",
  "caf",
  "tta",
  "tak",
  "mpc",
  "mpc8",
  "dts",
  "truehd",
  "mlp",
  "loas",
  "au",
  "voc",
  "oma",
  "dsf",
  // single images (content-probed, from a descriptor, never a file-name pattern)
  ...[
    "bmp",
    "dds",
    "dpx",
    "exr",
    "gif",
    "j2k",
    "jpeg",
    "jpegls",
    "jpegxl",
    "pam",
    "pbm",
    "pcx",
    "pfm",
    "pgm",
    "pgmyuv",
    "pgx",
    "phm",
    "photocd",
    "pictor",
    "png",
    "ppm",
    "psd",
    "qdraw",
    "qoi",
    "sgi",
    "sunrast",
    "tiff",
    "vbn",
    "webp",
    "xbm",
    "xpm",
    "xwd",
  ].map((n) => `${n}_pipe`),
].join(",");

/**
 * The input options that confine a read to the opened file (tool-run.ts): files only (no
 * network, no pipes to other programs) and only the demuxers above.
 */
export const CONFINED_INPUT = ["-protocol_whitelist", "file", "-format_whitelist", DEMUXERS];

/** "Format not on whitelist" from ffmpeg or ffprobe: the detected demuxer, for the message. */
export function refusedFormat(lines: string[]): MediaError | undefined {
  const line = lines.find((l) => /Format not on whitelist/i.test(l));
  if (!line) return undefined;
  const name = /^\[(\w+) @/.exec(line)?.[1] ?? "unknown";
  if (name === "tty") return mediaError(PermanentError, UNREADABLE, lines);
  return mediaError(
    PermanentError,
    `ffmpeg reads this file as "${name}", a format that is refused (only ordinary audio, video and image files are read; a playlist or list of files could make ffmpeg read files outside the roots)`,
    lines,
  );
}

export function isProgressLine(line: string): boolean {
  return /^\s*(frame|size)=/.test(line);
}
