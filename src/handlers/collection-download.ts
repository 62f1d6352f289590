import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { PermanentError } from "../errors.js";
import { writeZip, type FileEntry, type ZipEntry } from "../media/zip.js";
import { csvField, isCompressedFormat, sanitizeEntryName, UniqueNames } from "./collection-names.js";
import { safeFileName } from "./create-download-file.js";
import { defineHandler } from "../job/handler.js";
import { ensureDir } from "./output-names.js";

/** Enough for any collection a person would click together; bounds job_data and the result. */
export const MAX_FILES = 100_000;
const MANIFEST = "manifest.csv";
/** Paths resolved and stat'ed at once: enough to hide a network file system's latency. */
const PARALLEL = 16;

/**
 * A list of files → one zip for a user to download (docs/handlers.md, "collection_download"). Every path is checked against
 * the read roots before anything is written; files that are not there are listed in `missing`
 * (the job completes unless none were found). The zip is written to a temporary name in
 * downloads.dir and renamed when whole to an unguessable name (128 random bits, then the
 * collection's name), whose URL under downloads.baseUrl is in the result.
 */
export default defineHandler({
  name: "collection_download",
  description: "Zips a list of files into downloads.dir (streamed, stored or deflated per format, ZIP64 when needed); the result gives its download URL.",
  schema: z
    .object({
      files: z
        .array(z.object({ path: z.string().min(1).max(4096), name: z.string().min(1).max(1024).optional() }).strict())
        .min(1)
        .max(MAX_FILES),
      /** A readable name for the zip (sanitised); default collection-REF. */
      name: z.string().min(1).max(200).optional(),
      compression: z.enum(["auto", "store", "deflate"]).default("auto"),
      /** Adds manifest.csv: entry name, source path, bytes, SHA-256 of every file. */
      manifest: z.boolean().default(false),
    })
    .strict(),
  defaults: { timeoutSeconds: 3600 },
  async run(context, data) {
    const { dir, baseUrl } = context.config.downloads;
    if (!dir || !baseUrl) throw new PermanentError("downloads.dir and downloads.baseUrl must be set in the config for collection_download");
    // Every path first: one outside the roots fails the job before anything is written.
    const sources = await mapLimit(data.files, PARALLEL, (file) => context.paths.readable(file.path));
    const sizes = await mapLimit(sources, PARALLEL, fileSize);
    context.signal.throwIfAborted();

    const names = new UniqueNames();
    if (data.manifest) names.take(MANIFEST);
    /** Each entry's path as job_data gave it: what `missing` and the manifest show. */
    const given = new Map<FileEntry, string>();
    const missing: string[] = [];
    const entries: ZipEntry[] = [];
    let totalBytes = 0;
    data.files.forEach((file, i) => {
      const source = sources[i]!;
      const size = sizes[i];
      if (size === undefined) return void missing.push(file.path);
      totalBytes += size;
      const name = names.take(sanitizeEntryName(file.name ?? "") || sanitizeEntryName(path.basename(file.path)) || "file");
      const store = data.compression === "store" || (data.compression === "auto" && (isCompressedFormat(file.path) || isCompressedFormat(name)));
      const entry = { source, name, store };
      given.set(entry, file.path);
      entries.push(entry);
    });
    if (entries.length === 0) throw new PermanentError(`none of the ${data.files.length} files were found`);
    const { maxCollectionBytes } = context.config.downloads;
    const tooLarge = (bytes: number) =>
      new PermanentError(`the files add up to ${bytesInWords(bytes)}, more than downloads.maxCollectionBytes (${bytesInWords(maxCollectionBytes)}) allows`);
    if (totalBytes > maxCollectionBytes) throw tooLarge(totalBytes);
    if (missing.length) context.log.warn(`${missing.length} of ${data.files.length} files not found: ${preview(missing)}`);

    const rows = ["name,source,bytes,sha256"];
    if (data.manifest) entries.push({ name: MANIFEST, store: false, content: () => Buffer.from(`${rows.join("\r\n")}\r\n`) });

    const downloads = await context.paths.writable(path.join(dir, "x")).then(path.dirname);
    await ensureDir(downloads);
    const wanted = safeFileName(data.name ?? `collection-${context.ref}`);
    const name = `${randomBytes(16).toString("hex")}-${/\.zip$/i.test(wanted) ? wanted : `${wanted}.zip`}`;
    const final = path.join(downloads, name);
    const temporary = path.join(downloads, `.${name}.tmp`);
    try {
      const zip = await writeZip(entries, temporary, {
        signal: context.signal,
        totalBytes,
        sha256: data.manifest,
        // Checked again while streaming (a file may grow after it was measured), and each file
        // is checked again once opened (a folder may have been swapped for a symlink).
        maxBytes: maxCollectionBytes,
        tooLarge: () => tooLarge(maxCollectionBytes + 1),
        open: context.paths.open,
        // 99 at most until the rename: 100 means the download is there.
        onProgress: (done, total) => context.progress(total > 0 ? Math.min(99, (done / total) * 100) : 99),
        onFile: ({ entry, bytes, sha256 }) => rows.push([entry.name, given.get(entry)!, bytes, sha256 ?? ""].map(csvField).join(",")),
      });
      const vanished = zip.missing.map((entry) => given.get(entry)!);
      if (vanished.length) context.log.warn(`${vanished.length} files disappeared before they were zipped: ${preview(vanished)}`);
      missing.push(...vanished);
      const files = zip.entries - (data.manifest ? 1 : 0);
      if (files === 0) throw new PermanentError(`none of the ${data.files.length} files were found`);
      await fs.rename(temporary, final);
      context.progress(100);
      context.log.info(`zipped ${files} files (${totalBytes} bytes) into ${name} (${zip.bytes} bytes)`);
      const url = new URL(encodeURIComponent(name), baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`).toString();
      return { path: final, url, files, bytes: zip.bytes, missing };
    } finally {
      await fs.rm(temporary, { force: true });
    }
  },
});

/** A regular file's size; undefined when it is not there (or not a file). */
async function fileSize(file: string): Promise<number | undefined> {
  try {
    const stat = await fs.stat(file);
    return stat.isFile() ? stat.size : undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new PermanentError(`cannot read ${file}: ${code ?? (error as Error).message}`);
  }
}

/** 21474836480 → "20 GiB", 1536 → "1.5 KiB", 10 → "10 bytes". */
function bytesInWords(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${Number(value.toFixed(1))} ${units[unit]}`;
}

/** The first few of a long list, for one log line. */
function preview(paths: string[]): string {
  return paths.slice(0, 5).join(", ") + (paths.length > 5 ? `, … (${paths.length - 5} more)` : "");
}

/** Like Promise.all over items.map(fn), with at most `limit` calls running at once. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
