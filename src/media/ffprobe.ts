import fs from "node:fs/promises";
import { limitSentence } from "../job/child-sandbox.js";
import { PermanentError, TransientError } from "../errors.js";
import { findExecutable } from "../find-executable.js";
import { CONFINED_INPUT, inputProblem, mediaError, UNREADABLE } from "./ffmpeg-shared.js";
import { INPUT_URL, runTool } from "./tool-run.js";
import type { MediaInfo } from "./types.js";

/**
 * Probing video and audio with ffprobe. Errors as in ffmpeg-shared.ts.
 */

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  sample_rate?: string;
  channels?: number;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}

interface ProbeOutput {
  streams?: ProbeStream[];
  format?: { format_name?: string; duration?: string; bit_rate?: string; tags?: Record<string, string> };
}

/** A probed source: what it is, and the demuxer that every later ffmpeg read of it is pinned to. */
export interface ProbedSource {
  file: string;
  demuxer: string;
  info: MediaInfo;
}

/**
 * What the file is, from ffprobe: "video" when it has a video stream that is not cover art,
 * "audio" when it has an audio stream, else PermanentError. Width and height are the display
 * size (sample aspect ratio and rotation applied). ffprobe reads the opened file only, with the
 * demuxer allow-list (tool-run.ts, ffmpeg-shared.ts), and is killed on abort.
 */
export async function probeMedia(file: string, signal?: AbortSignal): Promise<MediaInfo> {
  return (await probeSource(file, signal)).info;
}

export async function probeSource(file: string, signal?: AbortSignal): Promise<ProbedSource> {
  signal?.throwIfAborted();
  const binary = findExecutable(process.env.FFPROBE_PATH || "ffprobe");
  if (!binary) throw new PermanentError("ffprobe is not installed (or FFPROBE_PATH is wrong)");
  const args = ["-v", "error", ...CONFINED_INPUT, "-print_format", "json", "-show_format", "-show_streams", INPUT_URL];
  const run = await runTool({ binary, args, file, signal, maxStdout: 32 * 1024 * 1024 });
  const lines = run.stderr;
  if (run.startError) throw mediaError(PermanentError, "ffprobe is not installed (or FFPROBE_PATH is wrong)", lines);
  if (run.limit) throw mediaError(PermanentError, limitSentence("ffprobe", run.limit), lines);
  if (run.overflow) throw mediaError(PermanentError, "ffprobe printed too much (a file with thousands of streams?)", lines);
  if (run.signal) throw mediaError(TransientError, `ffprobe was killed by ${run.signal}`, lines);
  if (run.exitCode !== 0) throw inputProblem(lines, INPUT_URL) ?? mediaError(PermanentError, UNREADABLE, lines);
  const stdout = run.stdout;

  let data: ProbeOutput;
  try {
    data = JSON.parse(stdout) as ProbeOutput;
  } catch {
    throw new PermanentError(UNREADABLE);
  }
  const streams = data.streams ?? [];
  const format = data.format ?? {};
  const formatName = format.format_name ?? "";
  // Text files of some size are taken for ANSI art by the "tty" demuxer: not media.
  if (formatName === "tty" || formatName === "") throw new PermanentError(UNREADABLE);

  const video = streams.find((s) => s.codec_type === "video" && s.disposition?.attached_pic !== 1);
  const audio = streams.find((s) => s.codec_type === "audio");
  if (!video && !audio) throw new PermanentError(UNREADABLE);

  const isImage = !!video && /(^|,)image2($|,)|_pipe$/.test(formatName);
  const type: MediaInfo["type"] = isImage ? "image" : video ? "video" : "audio";
  const info: MediaInfo = { type, mime: await mimeFor(file, type, formatName, format.tags?.major_brand, video?.codec_name) };
  // The first of the demuxer's names ("mov" of "mov,mp4,m4a,3gp,3g2,mj2") is the one -f takes.
  const demuxer = formatName.split(",")[0]!;

  if (video) {
    let width = video.width ?? 0;
    let height = video.height ?? 0;
    const sar = ratio(video.sample_aspect_ratio, ":");
    if (sar && sar !== 1) width = Math.round(width * sar);
    const rotation = rotationOf(video);
    if (rotation % 180 !== 0) [width, height] = [height, width];
    if (width > 0 && height > 0) Object.assign(info, { width, height });
    if (rotation) info.rotation = rotation;
    info.videoCodec = video.codec_name;
    const fps = ratio(video.avg_frame_rate, "/") ?? ratio(video.r_frame_rate, "/");
    if (fps) info.frameRate = Math.round(fps * 1000) / 1000;
  }
  if (audio) {
    info.audioCodec = audio.codec_name;
    if (audio.sample_rate) info.sampleRate = Number(audio.sample_rate);
    if (audio.channels) info.channels = audio.channels;
  }
  const duration = num(format.duration) ?? num(video?.duration) ?? num(audio?.duration);
  if (duration !== undefined && duration > 0) info.duration = Math.round(duration * 1000) / 1000;
  const bitRate = num(format.bit_rate);
  if (bitRate) info.bitRate = bitRate;
  return { file, demuxer, info };
}

function rotationOf(stream: ProbeStream): number {
  const fromSideData = stream.side_data_list?.find((d) => typeof d.rotation === "number")?.rotation;
  const raw = fromSideData ?? num(stream.tags?.rotate) ?? 0;
  const r = ((Math.round(raw) % 360) + 360) % 360;
  return r === 0 ? 0 : r;
}

async function mimeFor(file: string, type: MediaInfo["type"], formatName: string, majorBrand: string | undefined, videoCodec?: string): Promise<string> {
  const names = formatName.split(",");
  const has = (n: string) => names.includes(n);
  const av = type === "audio" ? "audio" : "video";
  if (type === "image") {
    const codec = videoCodec === "mjpeg" ? "jpeg" : (videoCodec ?? "octet-stream");
    return codec === "octet-stream" ? "application/octet-stream" : `image/${codec}`;
  }
  if (has("mov") || has("mp4")) {
    const brand = (majorBrand ?? "").trim().toLowerCase();
    if (brand === "qt") return "video/quicktime";
    if (brand.startsWith("3g2")) return `${av}/3gpp2`;
    if (brand.startsWith("3gp")) return `${av}/3gpp`;
    return `${av}/mp4`;
  }
  if (has("matroska") || has("webm")) {
    // Both share one demuxer; the EBML DocType near the start tells them apart.
    const head = await readHead(file, 64);
    return head.includes("webm") ? `${av}/webm` : `${av}/x-matroska`;
  }
  const table: Record<string, string> = {
    mp3: "audio/mpeg",
    wav: "audio/wav",
    w64: "audio/wav",
    flac: "audio/flac",
    aac: "audio/aac",
    aiff: "audio/aiff",
    amr: "audio/amr",
    ac3: "audio/ac3",
    eac3: "audio/eac3",
    ape: "audio/x-ape",
    wv: "audio/x-wavpack",
    caf: "audio/x-caf",
    avi: "video/x-msvideo",
    flv: "video/x-flv",
    mpegts: "video/mp2t",
    mpeg: "video/mpeg",
    mxf: "application/mxf",
    gif: "image/gif",
    nut: "video/x-nut",
    dv: "video/x-dv",
    rm: "application/vnd.rn-realmedia",
  };
  if (has("ogg")) return `${av}/ogg`;
  if (has("asf")) return av === "audio" ? "audio/x-ms-wma" : "video/x-ms-asf";
  for (const n of names) {
    const mime = table[n];
    if (mime) return mime;
  }
  return "application/octet-stream";
}

async function readHead(file: string, bytes: number): Promise<string> {
  try {
    const handle = await fs.open(file, "r");
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(bytes), 0, bytes, 0);
      return buffer.subarray(0, bytesRead).toString("latin1");
    } finally {
      await handle.close();
    }
  } catch {
    return "";
  }
}

// ---------------------------------------------------------------------------------------
// Small helpers

function ratio(value: string | undefined, sep: string): number | undefined {
  if (!value) return undefined;
  const [a, b] = value.split(sep).map(Number);
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || a <= 0 || b <= 0) return undefined;
  return a / b;
}

function num(value: string | number | undefined): number | undefined {
  if (value === undefined || value === "" || value === "N/A") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
