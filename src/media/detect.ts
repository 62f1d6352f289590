import fs from "node:fs/promises";
import { PermanentError } from "../errors.js";
import type { DetectedType } from "./types.js";

/**
 * What a file really is, from its first bytes (file-type's signatures), never its extension:
 * a JPEG named x.pdf is an image. The only module that imports file-type, and it does so
 * lazily, so that a cron run with nothing to preview does not load it.
 *
 * The kind only picks the pipeline; the pipeline itself has the last word (an MP4 or WebM
 * that holds only audio is called video here, and ffmpeg's probe sorts it out).
 */
export async function detectType(file: string): Promise<DetectedType> {
  let size: number;
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) throw new PermanentError(`source is not a file: ${file}`);
    size = stat.size;
  } catch (error) {
    if (error instanceof PermanentError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new PermanentError(`source file not found: ${file}`);
    throw new PermanentError(`source file cannot be read: ${file} (${code ?? String(error)})`);
  }
  if (size === 0) throw new PermanentError("empty file");

  const { fileTypeFromFile } = await import("file-type");
  let found: { mime: string; ext: string } | undefined;
  try {
    found = await fileTypeFromFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new PermanentError(`source file not found: ${file}`);
    if (code === "EACCES" || code === "EISDIR") throw new PermanentError(`source file cannot be read: ${file} (${code})`);
    throw error;
  }
  if (!found) return { kind: "unknown", mime: "application/octet-stream", ext: "" };
  return { kind: kindOf(found.mime), mime: found.mime, ext: found.ext };
}

/** Containers that file-type names application/… but that hold video (or audio: ffmpeg decides). */
const VIDEO_CONTAINERS = new Set(["application/ogg", "application/mxf", "application/vnd.ms-asf", "application/vnd.rn-realmedia"]);
/** image/… types that are not pictures anything here can rasterise. */
const NOT_PICTURES = new Set(["image/vnd.dwg", "image/ktx"]);

function kindOf(mime: string): DetectedType["kind"] {
  if (mime === "application/pdf") return "pdf";
  if (mime.startsWith("image/")) return NOT_PICTURES.has(mime) ? "unknown" : "image";
  if (mime.startsWith("video/") || VIDEO_CONTAINERS.has(mime)) return "video";
  if (mime.startsWith("audio/")) return "audio";
  return "unknown";
}
