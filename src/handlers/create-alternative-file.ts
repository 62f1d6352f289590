import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { PermanentError } from "../errors.js";
import { quote } from "../quote.js";
import { detectType } from "../media/detect.js";
import { transcode } from "../media/ffmpeg.js";
import { probeSource } from "../media/ffprobe.js";
import { convertImage } from "../media/image.js";
import { runTemplate, templateArgsSchema, templateTimeout } from "./command-template.js";
import { defineHandler } from "../job/handler.js";
import { ensureDir, outputIsFolder, requireFile, requireFileName } from "./output-names.js";

const transformSchema = z
  .object({
    format: z.enum(["jpeg", "png", "webp", "avif", "tiff", "gif"]),
    width: z.number().int().min(1).max(16_384).optional(),
    height: z.number().int().min(1).max(16_384).optional(),
    quality: z.number().int().min(1).max(100).optional(),
  })
  .strict();

/**
 * Source → an alternative file (docs/handlers.md, "create_alternative_file"): a built-in image transform (format, size,
 * quality; sharp), a video/audio transcode with one of the config's ffmpegPresets, or a
 * command template from the config that reads {source} and writes {output}. Either way the output is written under a temporary name and renamed when whole.
 */
export default defineHandler({
  name: "create_alternative_file",
  description: "Makes an alternative file from a source: an image transform (format, width, height, quality) or a command template.",
  schema: z
    .object({
      source: z.string().min(1).max(4096),
      output: z.string().min(1).max(4096),
      transform: transformSchema.optional(),
      command: z.string().min(1).max(100).optional(),
      /** A video or audio transcode: the name of one of the config's ffmpegPresets. */
      preset: z.string().min(1).max(64).optional(),
      args: templateArgsSchema,
    })
    .strict()
    .refine((d) => [d.transform, d.command, d.preset].filter((x) => x !== undefined).length === 1, "give one of transform, command or preset"),
  defaults: { timeoutSeconds: 3600 },
  jobTimeoutSeconds: (data, config) => templateTimeout(config.commands, data.command),
  async run(context, data) {
    const source = await context.paths.readable(data.source);
    await requireFile(source);
    const output = await context.paths.writable(data.output);
    await requireFileName(output);
    await ensureDir(path.dirname(output));
    const temporary = path.join(path.dirname(output), `.${path.basename(output)}.tmp-${randomBytes(6).toString("hex")}${path.extname(output)}`);
    try {
      // sharp and ffmpeg read through the file opened and checked now, not its name (a folder
      // swapped for a symlink since). A command template gets the name: its program may need it.
      if (data.transform) {
        const { previews } = context.config;
        const transform = data.transform;
        await context.paths.withSource(source, (readPath) =>
          convertImage(readPath, temporary, {
            ...transform,
            quality: transform.quality ?? previews.quality,
            background: previews.background,
            pixelLimit: Math.round(previews.maxMegapixels * 1e6),
          }),
        );
      } else if (data.preset !== undefined) {
        const presets = context.config.ffmpegPresets;
        const preset = Object.hasOwn(presets, data.preset) ? presets[data.preset]! : undefined;
        if (!preset)
          throw new PermanentError(`unknown ffmpeg preset ${quote(data.preset, 40)}: the config defines ${Object.keys(presets).join(", ") || "none"}`);
        await context.paths.withSource(source, async (readPath) => {
          // Probe first: it refuses what is not media (ffmpeg alone would read a text file as ANSI art).
          const probed = await probeSource(readPath, context.signal);
          await transcode(probed, temporary, preset, (percent) => context.progress(percent), context.signal, probed.info.duration ?? 0);
        });
      } else {
        await runTemplate(context, { name: data.command!, type: "create_alternative_file", args: data.args, filled: { source, output: temporary } });
      }
      const stat = await fs.stat(temporary).catch(() => undefined);
      if (!stat?.isFile() || stat.size === 0)
        throw new PermanentError(`no output was written${data.command ? ` by command "${data.command}" at {output}` : ""}`);
      await fs.rename(temporary, output).catch((error: NodeJS.ErrnoException) => {
        // A folder of that name appeared while the job ran (checked at the start): no retry will help.
        if (error.code === "EISDIR" || error.code === "ENOTEMPTY" || error.code === "EEXIST") throw outputIsFolder(output);
        throw error;
      });
      const type = await detectType(output).catch(() => undefined);
      return { path: output, bytes: stat.size, mime: type?.mime ?? "application/octet-stream" };
    } finally {
      await fs.rm(temporary, { force: true, recursive: true });
    }
  },
});
