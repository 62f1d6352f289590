import { z } from "zod";

/** The config's sections the media handlers read: previews, ffmpeg presets, text extraction (schema.ts joins them). */

const sizeName = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "size names use letters, digits, _ and -");
const dimension = z.number().int().min(1).max(16_384);

/** create_previews and create_alternative_file (docs/handlers.md, "create_previews"). */
export const previewsSchema = z
  .object({
    sizes: z
      .record(sizeName, z.object({ width: dimension, height: dimension }).strict())
      .default({ thm: { width: 150, height: 150 }, pre: { width: 850, height: 850 }, scr: { width: 1400, height: 1400 } })
      .describe("preview boxes by name: each image fits inside, never enlarged"),
    format: z.enum(["jpeg", "png", "webp", "avif"]).default("jpeg").describe("preview image format"),
    quality: z.number().int().min(1).max(100).default(85).describe("preview image quality"),
    /** Transparency is flattened onto this colour for formats without alpha. */
    background: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, "must be a colour like #ffffff")
      .default("#ffffff")
      .describe("colour transparency is flattened onto for JPEG"),
    /** Decompression-bomb guard, in megapixels (width × height / 1e6). */
    maxMegapixels: z
      .number()
      .positive()
      .max(10_000)
      .default(268)
      .describe("larger images are refused from their header, before decoding (decompression bombs)"),
    /** Output file names: {base} (source name without extension), {size}, {ext}, {ref}. */
    namePattern: z
      .string()
      .min(1)
      .default("{base}_{size}.{ext}")
      .describe("output file names: `{base}` (the source's name without extension), `{size}`, `{ext}`, `{ref}`"),
    /** Where previews go when job_data gives no outputDir (default: beside the source). */
    outputDir: z.string().optional().describe("where previews go when job_data gives no `outputDir`; unset: beside the source"),
    video: z
      .object({
        posterOffsetPercent: z.number().min(0).max(100).default(10).describe("a video's poster frame is taken at this percentage of its duration"),
        posterMaxOffsetSeconds: z.number().min(0).default(30).describe("and at most this many seconds in"),
        clipSeconds: z.number().positive().max(3600).default(10).describe("the preview clip (H.264/AAC MP4) is at most this long"),
        clipMaxWidth: dimension.default(640).describe("and at most this wide, in pixels"),
        clipCrf: z.number().int().min(0).max(51).default(28).describe("the clip's H.264 quality (CRF: lower is better and larger)"),
        audioBitrate: z
          .string()
          .regex(/^\d+k$/, "like 96k")
          .default("96k")
          .describe("the clip's AAC bitrate"),
      })
      .strict()
      .default({ posterOffsetPercent: 10, posterMaxOffsetSeconds: 30, clipSeconds: 10, clipMaxWidth: 640, clipCrf: 28, audioBitrate: "96k" }),
    audio: z
      .object({
        bitrate: z
          .string()
          .regex(/^\d+k$/, "like 128k")
          .default("128k")
          .describe("an audio preview's MP3 bitrate"),
        seconds: z.number().positive().max(3600).default(30).describe("an audio preview covers at most the first this many seconds"),
        waveform: z.boolean().default(true).describe("also draw a waveform image"),
        waveformWidth: dimension.default(1200).describe("the waveform image's width, in pixels"),
        waveformHeight: dimension.default(200).describe("the waveform image's height, in pixels"),
        /** The waveform shows at most this much of the start: ffmpeg holds all of it in memory to draw it. */
        waveformMaxSeconds: z
          .number()
          .positive()
          .max(86_400)
          .default(3600)
          .describe("the waveform shows at most this much of the start: ffmpeg holds all of it in memory to draw it"),
      })
      .strict()
      .default({ bitrate: "128k", seconds: 30, waveform: true, waveformWidth: 1200, waveformHeight: 200, waveformMaxSeconds: 3600 }),
  })
  .strict();

/**
 * Named ffmpeg output presets for create_alternative_file's video and audio transcodes: the
 * output options (the config is trusted; job rows only name a preset) and the muxer.
 */
export const ffmpegPresetSchema = z
  .object({
    args: z.array(z.string()).max(200).describe("ffmpeg output options (the config is trusted; a row can only name the preset)"),
    format: z
      .string()
      .regex(/^[a-z0-9_]+$/, "an ffmpeg muxer name such as mp4, webm, ogg, mp3")
      .describe("the muxer: mp4, webm, ogg, mp3…"),
    /** The track the source must have. */
    needs: z.enum(["video", "audio"]).default("video").describe("the track the source must have"),
  })
  .strict();

/** extract_text (docs/handlers.md, "extract_text"). */
export const extractTextSchema = z
  .object({
    maxChars: z.number().int().min(1).max(100_000_000).default(1_000_000).describe("cap of the extracted text, in characters"),
    /** How long a short excerpt in the result is. */
    excerptChars: z.number().int().min(0).max(10_000).default(200).describe("length of the excerpt in the result"),
    /** pdftotext reads at most this many pages (its -l). */
    maxPages: z.number().int().min(1).max(1_000_000).default(10_000).describe("pages pdftotext reads at most"),
    /** pdftotext fails the job when its text passes this: pages can share one content stream, so a small PDF can print without end. */
    maxOutputBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(16 * 1024 * 1024 * 1024)
      .default(64 * 1024 * 1024)
      .describe("pdftotext's text passing this many bytes fails the job (pages can share one content stream, so a small PDF can print without end)"),
    sink: z
      .object({
        /**
         * Where the text goes: one statement with named parameters :text, :resource, :field,
         * :ref, run with parameters on the job table's pool, e.g. an UPDATE of the
         * application's field table.
         */
        sql: z
          .string()
          .min(1)
          .refine((sql) => [...sql.matchAll(/:([A-Za-z_]\w*)/g)].every((m) => ["text", "resource", "field", "ref"].includes(m[1]!)), {
            message: "may use only the named parameters :text, :resource, :field and :ref",
          })
          .describe(
            "a statement with named parameters `:text`, `:resource`, `:field`, `:ref` that stores the extracted text in the application's table, run on the job table's database; unset: the text goes into the result",
          ),
      })
      .strict()
      .optional(),
  })
  .strict();
