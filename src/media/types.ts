/**
 * The shapes the media modules exchange with the handlers. The media modules (image.ts,
 * tool-run.ts, pdf.ts, detect.ts) are the only places that import sharp, run ffmpeg and
 * ffprobe, and import file-type; handlers see only these types.
 */

/** What a file really is, from its content (never its extension). */
export interface DetectedType {
  kind: "image" | "video" | "audio" | "pdf" | "unknown";
  /** e.g. image/jpeg, video/mp4; "application/octet-stream" when unknown. */
  mime: string;
  /** e.g. jpg, mp4; "" when unknown. */
  ext: string;
}

/** One target size: fit inside width × height, never enlarged. */
export interface PreviewSize {
  name: string;
  width: number;
  height: number;
}

export interface ImageOutputOptions {
  /** Output format of preview images. */
  format: "jpeg" | "png" | "webp" | "avif";
  /** 1–100. */
  quality: number;
  /** Colour that transparency is flattened onto for formats without alpha (jpeg), e.g. "#ffffff". */
  background: string;
  /** Decompression-bomb guard: refuse images with more pixels than this. */
  pixelLimit: number;
}

/** One written preview file, as it goes into the job's result (docs/handlers.md, "create_previews"). */
export interface PreviewFile {
  size: string;
  path: string;
  mime: string;
  width?: number;
  height?: number;
  bytes: number;
}

/** What probing found, as it goes into result.media. */
export interface MediaInfo {
  type: "image" | "video" | "audio" | "pdf";
  mime: string;
  width?: number;
  height?: number;
  /** Seconds, for video and audio. */
  duration?: number;
  videoCodec?: string;
  audioCodec?: string;
  /** Pages, for PDF and multi-page images. */
  pages?: number;
  /** Other facts worth keeping (orientation, colour space, bit depth, frame rate…). */
  [key: string]: unknown;
}
