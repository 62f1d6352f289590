import { NoOutputError } from "../errors.js";
import { produce, seconds, type FfmpegJob } from "./ffmpeg-run.js";
import { probeSource, type ProbedSource } from "./ffprobe.js";

/**
 * Video and audio through ffmpeg: poster frames, preview clips, MP3 previews, waveform images
 * and preset transcodes (probing is in ffprobe.ts, running ffmpeg in ffmpeg-run.ts). Every
 * output appears whole under its final name, or not at all.
 *
 * Each takes the source as ffprobe found it (probeSource): ffmpeg then reads it with that
 * demuxer and no other. Given a bare path, they probe it first.
 */

/** Output options of one PNG image (a poster, a waveform): image2 writing one file, not a numbered sequence. */
const ONE_PNG = ["-c:v", "png", "-f", "image2", "-update", "1"];

export type Source = string | ProbedSource;

async function pinned(source: Source, signal: AbortSignal | undefined): Promise<ProbedSource> {
  return typeof source === "string" ? probeSource(source, signal) : source;
}

/** One frame at `atSeconds` as a full-size PNG (square pixels, rotation applied). Seeks fast (-ss before -i). */
export async function extractPosterFrame(source: Source, atSeconds: number, outFile: string, signal?: AbortSignal): Promise<void> {
  const at = Number.isFinite(atSeconds) && atSeconds > 0 ? atSeconds : 0;
  const { file, demuxer } = await pinned(source, signal);
  const build = (seek: number): FfmpegJob => ({
    file,
    demuxer,
    outFile,
    signal,
    needs: "video",
    inputOptions: seek > 0 ? ["-ss", seconds(seek)] : [],
    outputOptions: ["-map", "0:V:0", "-frames:v", "1", "-vf", "scale=w='iw*sar':h=ih,setsar=1", "-an", "-sn", "-dn", "-map_metadata", "-1", ...ONE_PNG],
  });
  try {
    await produce(build(at));
  } catch (error) {
    // Past the last frame (a duration that lied, a seek into the void), nothing is written:
    // the first frame is a better poster than none.
    if (!(error instanceof NoOutputError) || at === 0) throw error;
    await produce(build(0));
  }
}

export interface VideoClipOptions {
  maxSeconds: number;
  maxWidth: number;
  crf: number;
  audioBitrate: string;
  /** x264 preset; "veryfast" unless given. */
  preset?: string;
}

/**
 * An H.264/AAC MP4 preview: at most `maxSeconds` long and `maxWidth` wide (never enlarged),
 * even dimensions, square pixels, yuv420p, the moov atom first (+faststart). Audio only when
 * the source has some. `onProgress` gets 0–100, rising, ending with 100.
 */
export async function makeVideoClip(
  source: Source,
  outFile: string,
  options: VideoClipOptions,
  onProgress: (percent: number) => void,
  signal?: AbortSignal,
  durationHint?: number,
): Promise<void> {
  const w = Math.max(2, Math.floor(options.maxWidth));
  await encode(
    source,
    { outFile, signal, needs: "video", onProgress, outputOptions: videoClipOutputOptions({ ...options, maxWidth: w }) },
    options.maxSeconds,
    durationHint,
  );
}

/** The output options of makeVideoClip, in order (bench/video.ts runs the same line by hand). */
export function videoClipOutputOptions(o: VideoClipOptions): string[] {
  const scale = `scale=w='trunc(min(iw*sar,${o.maxWidth})/2)*2':h='max(2,trunc(ow/dar/2)*2)',setsar=1,format=yuv420p`;
  return [
    "-map",
    "0:V:0",
    "-map",
    "0:a:0?",
    "-t",
    seconds(o.maxSeconds),
    "-vf",
    scale,
    "-c:v",
    "libx264",
    "-preset",
    o.preset ?? "veryfast",
    "-crf",
    String(o.crf),
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "aac",
    "-b:a",
    o.audioBitrate,
    "-ac",
    "2",
    "-map_metadata",
    "-1",
    "-map_chapters",
    "-1",
    "-movflags",
    "+faststart",
    "-f",
    "mp4",
  ];
}

/** An MP3 (libmp3lame) of the first `maxSeconds` of the audio track, at `bitrate` (e.g. "128k"). */
export async function makeAudioPreview(
  source: Source,
  outFile: string,
  options: { bitrate: string; maxSeconds: number },
  onProgress: (percent: number) => void,
  signal?: AbortSignal,
  durationHint?: number,
): Promise<void> {
  const outputOptions = [
    "-map",
    "0:a:0",
    "-vn",
    "-sn",
    "-dn",
    "-t",
    seconds(options.maxSeconds),
    "-c:a",
    "libmp3lame",
    "-b:a",
    options.bitrate,
    "-map_metadata",
    "-1",
    "-f",
    "mp3",
  ];
  await encode(source, { outFile, signal, needs: "audio", onProgress, outputOptions }, options.maxSeconds, durationHint);
}

/** The rate the waveform is drawn from: showwavespic keeps every sample until the end, and this many a second draw the same picture. */
const WAVEFORM_RATE = 8000;

/**
 * A PNG of the audio track's waveform (showwavespic), width × height, transparent background:
 * of the whole track, or of its first `maxSeconds` when longer. showwavespic holds all the
 * samples it draws in memory (a 96 kHz hour is 700 MB), so they are first resampled to 8 kHz
 * mono and the read stops at `maxSeconds`.
 */
export async function makeWaveform(
  source: Source,
  outFile: string,
  options: { width: number; height: number; maxSeconds?: number },
  signal?: AbortSignal,
): Promise<void> {
  const size = `${Math.floor(options.width)}x${Math.floor(options.height)}`;
  const { file, demuxer } = await pinned(source, signal);
  await produce({
    file,
    demuxer,
    outFile,
    signal,
    needs: "audio",
    inputOptions: ["-t", seconds(options.maxSeconds ?? 3600)],
    outputOptions: [
      "-filter_complex",
      `[0:a:0]aformat=channel_layouts=mono:sample_rates=${WAVEFORM_RATE},showwavespic=s=${size}:colors=0x3c78b4[wave]`,
      "-map",
      "[wave]",
      "-frames:v",
      "1",
      ...ONE_PNG,
    ],
  });
}

/**
 * A transcode with a preset from the config (create_alternative_file): its output options,
 * then its muxer. `needs` says which track the source must have. Progress as makeVideoClip.
 */
export async function transcode(
  source: Source,
  outFile: string,
  preset: { args: string[]; format: string; needs: "video" | "audio" },
  onProgress: (percent: number) => void,
  signal?: AbortSignal,
  durationHint?: number,
): Promise<void> {
  await encode(source, { outFile, signal, needs: preset.needs, onProgress, outputOptions: [...preset.args, "-f", preset.format] }, undefined, durationHint);
}

/**
 * An encode whose progress runs against the source's duration (at most `maxSeconds` of it):
 * the duration comes from the hint, else from the probe.
 */
async function encode(
  source: Source,
  job: Omit<FfmpegJob, "expectedSeconds" | "inputOptions" | "file" | "demuxer">,
  maxSeconds: number | undefined,
  durationHint: number | undefined,
): Promise<void> {
  job.signal?.throwIfAborted();
  const { file, demuxer, info } = await pinned(source, job.signal);
  const duration = knownDuration(info.duration, durationHint);
  const expectedSeconds = maxSeconds === undefined ? duration : Math.min(duration ?? maxSeconds, maxSeconds);
  await produce({ ...job, file, demuxer, inputOptions: [], expectedSeconds });
}

/** The hint when there is one (0 or less: unknown); else the probe's. */
function knownDuration(probed: number | undefined, hint: number | undefined): number | undefined {
  if (hint !== undefined) return Number.isFinite(hint) && hint > 0 ? hint : undefined;
  return probed;
}
