import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { PermanentError } from "../errors.js";
import { runTemplate, templateArgsSchema, templateTimeout } from "./command-template.js";
import { defineHandler } from "../job/handler.js";

/**
 * A command template writes a file for a user to download (docs/handlers.md, "create_download_file"): the file lands in
 * downloads.dir under an unguessable name (128 random bits, then a readable name), and the
 * result carries its URL under downloads.baseUrl, which success_text can show as {url}.
 * The command writes to {output}, a temporary name renamed once the command succeeded.
 */
export default defineHandler({
  name: "create_download_file",
  description: "Runs a command template that writes a file ({output}) into downloads.dir; the result gives its download URL.",
  schema: z
    .object({
      command: z.string().min(1).max(100),
      args: templateArgsSchema,
      /** A readable file name for the download (sanitised); default download-REF. */
      output: z.string().min(1).max(200).optional(),
    })
    .strict(),
  defaults: { timeoutSeconds: 3600 },
  jobTimeoutSeconds: (data, config) => templateTimeout(config.commands, data.command),
  async run(context, data) {
    const { dir, baseUrl } = context.config.downloads;
    if (!dir || !baseUrl) throw new PermanentError("downloads.dir and downloads.baseUrl must be set in the config for create_download_file");
    const downloads = await context.paths.writable(path.join(dir, "x")).then(path.dirname);
    await fs.mkdir(downloads, { recursive: true });
    const name = `${randomBytes(16).toString("hex")}-${safeFileName(data.output ?? `download-${context.ref}`)}`;
    const final = path.join(downloads, name);
    const temporary = path.join(downloads, `.${name}.tmp`);
    try {
      await runTemplate(context, { name: data.command, type: "create_download_file", args: data.args, filled: { output: temporary } });
      const stat = await fs.stat(temporary).catch(() => undefined);
      if (!stat?.isFile()) throw new PermanentError(`command "${data.command}" succeeded but wrote no file at {output}`);
      await fs.rename(temporary, final);
      return { path: final, url: new URL(encodeURIComponent(name), baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`).toString(), bytes: stat.size };
    } finally {
      await fs.rm(temporary, { force: true, recursive: true });
    }
  },
});

/** A download name keeps letters, digits and . _ - (Unicode letters too); the rest becomes _. */
export function safeFileName(name: string): string {
  const cleaned = path
    .basename(name.replace(/\\/g, "/"))
    .normalize("NFC")
    .replace(/[^\p{L}\p{N}._-]+/gu, "_")
    .replace(/^\.+/, "")
    .slice(0, 120);
  return cleaned || "download";
}
