import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import type { FailOnOptions, Metadata, Sharp, SharpOptions } from "sharp";
import { PermanentError, TransientError } from "../errors.js";
import type { ImageOutputOptions, MediaInfo, PreviewFile, PreviewSize } from "./types.js";

/**
 * Preview images with sharp (libvips). The only module that imports sharp, and lazily, so a
 * cron run with nothing to preview never loads libvips.
 *
 * One decode, then every size. The source is decoded once, auto-oriented, converted to sRGB
 * (CMYK and embedded ICC profiles through lcms), flattened when the output has no alpha, and
 * shrunk straight to the largest preview as an 8-bit raw buffer; every size is then resized
 * and encoded from that small buffer. For JPEG, libvips' shrink-on-load lets libjpeg decode
 * at 1/2, 1/4 or 1/8 scale, so the full-size image never exists in memory. Measured on a
 * 24-megapixel, 16 MB JPEG (2 cores, thm+pre+scr): one decode to raw ≈ 225 ms; three
 * separate pipelines from the file (each with its own shrink-on-load) ≈ 610 ms sequentially,
 * ≈ 320 ms in parallel; encoding the sizes in parallel from the raw buffer ≈ the same as one
 * after another (the decode is ~90 % of the time), so the sizes run one after another, which
 * keeps memory lowest and lets the abort signal be honoured between sizes.
 *
 * Truncation: libjpeg only *warns* about a premature end of data (and fills the rest with
 * grey), so the decode runs with failOn "truncated", which makes libvips fail with
 * "VipsJpeg: premature end of JPEG image" — mapped to "truncated JPEG". The stricter
 * "warning"/"error" levels would also refuse the many camera files with harmless warnings
 * ("extraneous bytes before marker").
 */

/** The sharp function (the module's CommonJS export). */
type SharpFn = typeof import("sharp");

let loaded: Promise<SharpFn> | undefined;
function loadSharp(): Promise<SharpFn> {
  loaded ??= import("sharp").then((module) => {
    const sharp = module.default;
    // libvips' operation cache only helps when the same file is processed again; here every
    // file is processed once, and the cache (plus malloc fragmentation) made the resident
    // size of a worker grow by ~50 MB over five 24-megapixel previews. This module is the only
    // user of sharp, so it owns this process-wide setting.
    sharp.cache(false);
    return sharp;
  });
  return loaded;
}

const FAIL_ON: FailOnOptions = "truncated";

/** Formats accepted as preview sources: rasters only (no SVG rendering, no libvips' own .v files). */
const SOURCE_FORMATS = new Set(["jpeg", "png", "webp", "gif", "tiff", "heif", "jp2k", "jxl"]);

const OUTPUT: Record<ImageOutputOptions["format"], { mime: string; ext: string }> = {
  jpeg: { mime: "image/jpeg", ext: "jpg" },
  png: { mime: "image/png", ext: "png" },
  webp: { mime: "image/webp", ext: "webp" },
  avif: { mime: "image/avif", ext: "avif" },
};

/** Header facts (no pixels decoded), with the pixel limit already checked. */
export async function imageInfo(file: string, pixelLimit: number): Promise<MediaInfo> {
  const sharp = await loadSharp();
  return mediaInfo(await readHeader(sharp, file, pixelLimit));
}

export async function makeImagePreviews(
  file: string,
  sizes: PreviewSize[],
  options: ImageOutputOptions,
  outputFor: (size: PreviewSize, ext: string) => string,
  signal?: AbortSignal,
): Promise<{ previews: PreviewFile[]; media: MediaInfo }> {
  signal?.throwIfAborted();
  if (sizes.length === 0) throw new PermanentError("no preview sizes to make");
  const sharp = await loadSharp();
  const meta = await readHeader(sharp, file, options.pixelLimit);
  const media = mediaInfo(meta);
  const width = media.width as number;
  const height = media.height as number;
  signal?.throwIfAborted();

  const targets = sizes.map((size) => ({ size, ...fitInside(width, height, size.width, size.height) }));
  const largest = targets.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  const output = OUTPUT[options.format];
  const flatten = options.format === "jpeg";

  // The one decode: oriented, sRGB, 8-bit, at the largest preview's size.
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    let pipeline = sharp(file, sourceOptions(options.pixelLimit)).autoOrient().resize(largest.width, largest.height, { fit: "fill" }).toColourspace("srgb");
    if (flatten) pipeline = pipeline.flatten({ background: options.background });
    decoded = await pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw decodeError(error, file, meta);
  }
  signal?.throwIfAborted();

  const raw = { width: decoded.info.width, height: decoded.info.height, channels: decoded.info.channels as 1 | 2 | 3 | 4 };
  const written: { temp: string; final: string }[] = [];
  const previews: PreviewFile[] = [];
  try {
    for (const target of targets) {
      signal?.throwIfAborted();
      const final = outputFor(target.size, output.ext);
      const temp = `${final}.tmp-${randomBytes(6).toString("hex")}`;
      written.push({ temp, final });
      const info = await encode(sharp(decoded.data, { raw }).resize(target.width, target.height, { fit: "fill" }), options).toFile(temp);
      previews.push({ size: target.size.name, path: final, mime: output.mime, width: info.width, height: info.height, bytes: info.size });
    }
    signal?.throwIfAborted();
    // Every size is whole: only now do the final names appear (all of them or none).
    for (const { temp, final } of written) await fs.rename(temp, final);
  } catch (error) {
    await Promise.all(written.map(({ temp }) => fs.rm(temp, { force: true })));
    throw writeError(error);
  }
  return { previews, media };
}

export interface ConvertOptions {
  format: ImageOutputOptions["format"] | "tiff" | "gif";
  /** Fit inside width × height (either may be left out), never enlarged. */
  width?: number;
  height?: number;
  quality: number;
  background: string;
  pixelLimit: number;
}

/**
 * One image → one file in another format/size (create_alternative_file's built-in
 * transform): the same safeguards as the previews (pixel limit from the header, orientation,
 * sRGB, metadata stripped, alpha flattened for JPEG). Writes `output` directly: the caller
 * gives a temporary name and renames it.
 */
export async function convertImage(
  file: string,
  output: string,
  options: ConvertOptions,
): Promise<{ width: number; height: number; bytes: number; media: MediaInfo }> {
  const sharp = await loadSharp();
  const meta = await readHeader(sharp, file, options.pixelLimit);
  const media = mediaInfo(meta);
  const box = fitInside(media.width as number, media.height as number, options.width ?? Infinity, options.height ?? Infinity);
  let pipeline = sharp(file, sourceOptions(options.pixelLimit)).autoOrient().resize(box.width, box.height, { fit: "fill" }).toColourspace("srgb");
  if (options.format === "jpeg") pipeline = pipeline.flatten({ background: options.background });
  if (options.format === "tiff") pipeline = pipeline.tiff({ quality: options.quality, compression: "lzw" });
  else if (options.format === "gif") pipeline = pipeline.gif();
  else pipeline = encode(pipeline, { ...options, format: options.format });
  try {
    const info = await pipeline.toFile(output);
    return { width: info.width, height: info.height, bytes: info.size, media };
  } catch (error) {
    await fs.rm(output, { force: true });
    throw decodeError(error, file, meta);
  }
}

/** Fit inside box × box, never enlarged; the limiting side is exact, the other rounded. */
export function fitInside(width: number, height: number, boxWidth: number, boxHeight: number): { width: number; height: number } {
  if (width <= boxWidth && height <= boxHeight) return { width, height };
  if (boxWidth / width <= boxHeight / height) {
    return { width: boxWidth, height: Math.min(boxHeight, Math.max(1, Math.round((height * boxWidth) / width))) };
  }
  return { width: Math.min(boxWidth, Math.max(1, Math.round((width * boxHeight) / height))), height: boxHeight };
}

function sourceOptions(pixelLimit: number): SharpOptions {
  // limitInputPixels repeats the header check inside libvips, in case a decoder disagrees.
  return { failOn: FAIL_ON, limitInputPixels: Math.max(1, Math.floor(pixelLimit)), pages: 1, page: 0 };
}

function encode(pipeline: Sharp, options: ImageOutputOptions): Sharp {
  switch (options.format) {
    case "jpeg":
      return pipeline.jpeg({ quality: options.quality });
    case "png":
      return pipeline.png();
    case "webp":
      return pipeline.webp({ quality: options.quality });
    case "avif":
      return pipeline.avif({ quality: options.quality });
  }
}

async function readHeader(sharp: SharpFn, file: string, pixelLimit: number): Promise<Metadata> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new PermanentError(`source file not found: ${file}`);
    throw new PermanentError(`source file cannot be read: ${file} (${code ?? String(error)})`);
  }
  if (!stat.isFile()) throw new PermanentError(`source is not a file: ${file}`);
  if (stat.size === 0) throw new PermanentError("empty file");

  let meta: Metadata;
  try {
    // Header only: no pixels are decoded, so a decompression bomb costs nothing here. No
    // limitInputPixels yet, so that the refusal below can give the real dimensions.
    meta = await sharp(file, { failOn: FAIL_ON, limitInputPixels: false, pages: 1, page: 0 }).metadata();
  } catch (error) {
    throw decodeError(error, file);
  }
  if (!SOURCE_FORMATS.has(meta.format)) throw new PermanentError(`not an image sharp can read: ${meta.format} is not accepted for previews`);
  if (!meta.width || !meta.height) throw new PermanentError("not an image sharp can read: no dimensions in the header");
  const { width, height } = oriented(meta);
  const pageHeight = meta.pageHeight ?? meta.height;
  if (meta.width * pageHeight > pixelLimit) {
    throw new PermanentError(`image is ${width}×${height}, over the ${Math.round(pixelLimit / 1e6)} megapixel limit`);
  }
  return meta;
}

function oriented(meta: Metadata): { width: number; height: number } {
  const height = meta.pageHeight ?? meta.height;
  const swap = (meta.orientation ?? 1) >= 5;
  return swap ? { width: height, height: meta.width } : { width: meta.width, height };
}

function mediaInfo(meta: Metadata): MediaInfo {
  const { width, height } = oriented(meta);
  return {
    type: "image",
    mime: mimeOf(meta),
    width,
    height,
    pages: meta.pages ?? 1,
    orientation: meta.orientation ?? 1,
    space: meta.space,
    depth: meta.depth,
    hasAlpha: meta.hasAlpha,
    format: meta.format,
    ...(meta.hasProfile ? { iccProfile: true } : {}),
  };
}

function mimeOf(meta: Metadata): string {
  switch (meta.format as string) {
    case "jpeg":
      return "image/jpeg";
    case "heif":
      return meta.compression === "av1" ? "image/avif" : "image/heic";
    case "jp2k":
      return "image/jp2";
    default:
      return `image/${meta.format}`;
  }
}

/**
 * libvips says a full disk as "TEMPORARY-NAME: write error\nsystem error: No space left on
 * device": the job's error (its first line) would name a temporary file and not the cause.
 * Transient, as in ffmpeg.ts: space may be freed before the retry.
 */
function writeError(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/no space left on device/i.test(message)) return new TransientError("no space left on device while writing the image");
  return error instanceof Error ? error : new Error(message);
}

function decodeError(error: unknown, file: string, meta?: Metadata): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/^Input file is missing/i.test(message)) return new PermanentError(`source file not found: ${file}`);
  // Writing failed (full disk, missing folder): not the source's fault, so not permanent.
  if (/for writing|no space left|write error/i.test(message)) return writeError(error);
  if (/premature end|unexpected end|end of file|truncated/i.test(message)) {
    // The header may itself be cut short (no metadata yet): then the loader's name tells.
    const format = meta?.format ?? /\b(jpeg|png|gif|webp|tiff|heif)/i.exec(message)?.[1]?.toLowerCase();
    const name = format === "heif" ? (meta?.compression === "hevc" ? "HEIC" : "AVIF") : format?.toUpperCase();
    return new PermanentError(name ? `truncated ${name}` : "truncated image");
  }
  if (/compression format has not been built in/i.test(message)) {
    return new PermanentError("not an image sharp can read: HEIC (HEVC) is not supported by this libvips build");
  }
  // libvips' messages can run over several lines (one per failed seek): keep the gist.
  const lines = message
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !/bad seek/i.test(line));
  const reason = (lines.at(-1) ?? message)
    .replaceAll(file, "")
    .replace(/^[:\s]+/, "")
    .slice(0, 200);
  return new PermanentError(`not an image sharp can read: ${reason}`);
}
