import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { PreviewsConfig } from "../config/schema.js";
import { PermanentError } from "../errors.js";
import { quote } from "../quote.js";
import { detectType } from "../media/detect.js";
import { extractPosterFrame, makeAudioPreview, makeVideoClip, makeWaveform } from "../media/ffmpeg.js";
import { probeSource, type ProbedSource } from "../media/ffprobe.js";
import { makeImagePreviews } from "../media/image.js";
import { pdfInfo, rasterizeFirstPage } from "../media/pdf.js";
import type { ImageOutputOptions, MediaInfo, PreviewFile, PreviewSize } from "../media/types.js";
import { defineHandler, type JobContext } from "../job/handler.js";
import { baseName, ensureDir, renderName } from "./output-names.js";

/**
 * Source file → preview images at the configured sizes (docs/handlers.md, "create_previews"): images through sharp,
 * video as a poster frame plus a short H.264 clip, audio as an MP3 plus a waveform, PDF as
 * its first page. The file's real type comes from its content, not its name.
 */
export default defineHandler({
  name: "create_previews",
  description: "Makes preview images (configured sizes) of an image, video, audio file or PDF; a video also gets an MP4 clip, audio an MP3.",
  schema: z
    .object({
      source: z.string().min(1).max(4096),
      outputDir: z.string().min(1).max(4096).optional(),
      sizes: z.array(z.string().max(32)).min(1).max(32).optional(),
    })
    .strict(),
  defaults: { timeoutSeconds: 3600 },
  async run(context, data) {
    const source = await context.paths.readable(data.source);
    // sharp, ffmpeg and pdftoppm read through the file opened and checked now, not its name (a
    // folder swapped for a symlink since); the outputs are named after the source.
    return context.paths.withSource(source, (readPath) => previewsOf(context, data, source, readPath));
  },
});

async function previewsOf(context: JobContext, data: { outputDir?: string; sizes?: string[] }, source: string, readPath: string) {
  const config = context.config.previews;
  // Also refuses a missing, non-regular or empty source, before any output folder is made.
  const detected = await detectType(readPath);
  context.log.info(`${source}: ${detected.mime}`);
  const sizes = pickSizes(config, data.sizes);
  const outputDir = await context.paths.writable(data.outputDir ?? config.outputDir ?? path.dirname(source));
  await ensureDir(outputDir);
  const output = (size: string, ext: string) => path.join(outputDir, renderName(config.namePattern, { base: baseName(source), size, ext, ref: context.ref }));
  const imageOptions: ImageOutputOptions = {
    format: config.format,
    quality: config.quality,
    background: config.background,
    pixelLimit: Math.round(config.maxMegapixels * 1e6),
  };
  const images = (file: string) => makeImagePreviews(file, sizes, imageOptions, (size, ext) => output(size.name, ext), context.signal);
  switch (detected.kind) {
    case "image": {
      const { previews, media } = await images(readPath);
      return { previews, media };
    }
    case "pdf":
      return pdfPreviews(context, readPath, outputDir, sizes, images);
    default:
      // Video, audio, or something file-type does not know: ffprobe decides.
      return mediaPreviews(context, readPath, outputDir, config, images, output);
  }
}

type Images = (file: string) => Promise<{ previews: PreviewFile[]; media: MediaInfo }>;

function pickSizes(config: PreviewsConfig, wanted: string[] | undefined): PreviewSize[] {
  const all = Object.entries(config.sizes).map(([name, box]) => ({ name, ...box }));
  if (!wanted) return all;
  return wanted.map((name) => {
    const size = all.find((s) => s.name === name);
    if (!size) throw new PermanentError(`unknown preview size ${quote(name, 40)}: the config defines ${all.map((s) => s.name).join(", ")}`);
    return size;
  });
}

async function pdfPreviews(context: JobContext, source: string, outputDir: string, sizes: PreviewSize[], images: Images) {
  const media = await pdfInfo(source, context.exec);
  const largest = Math.max(...sizes.map((s) => Math.max(s.width, s.height)));
  const page = await rasterizeFirstPage(source, outputDir, largest, context.exec);
  try {
    const { previews } = await images(page);
    return { previews, media };
  } finally {
    await fs.rm(page, { force: true });
  }
}

async function mediaPreviews(
  context: JobContext,
  source: string,
  outputDir: string,
  config: PreviewsConfig,
  images: Images,
  output: (size: string, ext: string) => string,
) {
  // Every ffmpeg read below is pinned to the demuxer this probe found (src/media/ffmpeg.ts).
  const probed = await probeSource(source, context.signal);
  const media = probed.info;
  context.progress(5);
  const previews: PreviewFile[] = [];
  if (media.type === "image") {
    // An image format that only ffmpeg reads: its single frame becomes the previews.
    await fromFrame(probed, 0, path.join(outputDir, `.frame-${context.ref}-${process.pid}.png`), images, previews, context.signal);
  } else if (media.type === "video") {
    const duration = media.duration ?? 0;
    const at = Math.min((duration * config.video.posterOffsetPercent) / 100, config.video.posterMaxOffsetSeconds);
    await fromFrame(probed, at, path.join(outputDir, `.poster-${context.ref}-${process.pid}.png`), images, previews, context.signal);
    context.progress(15);
    const clip = output("video", "mp4");
    const { video } = config;
    await makeVideoClip(
      probed,
      clip,
      { maxSeconds: video.clipSeconds, maxWidth: video.clipMaxWidth, crf: video.clipCrf, audioBitrate: video.audioBitrate },
      (percent) => context.progress(15 + percent * 0.85),
      context.signal,
      duration,
    );
    previews.push({ size: "video", path: clip, mime: "video/mp4", bytes: (await fs.stat(clip)).size });
  } else {
    const mp3 = output("audio", "mp3");
    await makeAudioPreview(
      probed,
      mp3,
      { bitrate: config.audio.bitrate, maxSeconds: config.audio.seconds },
      (p) => context.progress(5 + p * 0.8),
      context.signal,
      media.duration,
    );
    previews.push({ size: "audio", path: mp3, mime: "audio/mpeg", bytes: (await fs.stat(mp3)).size });
    if (config.audio.waveform) {
      const png = output("waveform", "png");
      const { waveformWidth: width, waveformHeight: height, waveformMaxSeconds: maxSeconds } = config.audio;
      await makeWaveform(probed, png, { width, height, maxSeconds }, context.signal);
      previews.push({
        size: "waveform",
        path: png,
        mime: "image/png",
        width: config.audio.waveformWidth,
        height: config.audio.waveformHeight,
        bytes: (await fs.stat(png)).size,
      });
    }
  }
  return { previews, media };
}

/** One frame at `at` seconds → a temporary PNG → the preview images; the PNG is removed. */
async function fromFrame(source: ProbedSource, at: number, frame: string, images: Images, previews: PreviewFile[], signal: AbortSignal): Promise<void> {
  try {
    await extractPosterFrame(source, at, frame, signal);
    previews.push(...(await images(frame)).previews);
  } finally {
    await fs.rm(frame, { force: true });
  }
}
