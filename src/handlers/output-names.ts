import fs from "node:fs/promises";
import path from "node:path";
import { PermanentError } from "../errors.js";
import { quote } from "../quote.js";

/**
 * Output file names from a pattern such as "{base}_{size}.{ext}". The result must be a plain
 * file name: a pattern or a source name that would produce a path separator, "..", a NUL or
 * a control character fails the job instead of writing somewhere unexpected.
 */
export function renderName(pattern: string, values: { base: string; size: string; ext: string; ref: number }): string {
  const name = pattern.replace(/\{(base|size|ext|ref)\}/g, (_, key: keyof typeof values) => String(values[key]));
  if (name === "" || name === "." || name === ".." || /[/\\\0\x01-\x1f]/.test(name)) {
    throw new PermanentError(`the output name ${quote(name)} made from the pattern ${quote(pattern)} is not a plain file name`);
  }
  return name;
}

/** The source's name without its extension, for {base}. */
export function baseName(file: string): string {
  const name = path.basename(file);
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

/** Makes the output folder (already checked to be inside the write roots). */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTDIR")
      throw new PermanentError(`cannot create the output folder ${quote(dir)}: a file of that name (or on its way) is in the way`);
    throw new PermanentError(`cannot create the output folder ${quote(dir)}: ${code ?? error}`);
  }
}

/** An output file's path must not name an existing folder (the rename onto it would fail late). */
export async function requireFileName(output: string): Promise<void> {
  const stat = await fs.stat(output).catch(() => undefined);
  if (stat?.isDirectory()) throw outputIsFolder(output);
}

export function outputIsFolder(output: string): PermanentError {
  return new PermanentError(`the output ${quote(output)} is a folder; give a file name`);
}

/** Fails clearly when the source is missing or not a regular file. */
export async function requireFile(file: string): Promise<number> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PermanentError(code === "ENOENT" || code === "ENOTDIR" ? `source file not found: ${file}` : `cannot read the source ${quote(file)}: ${code}`);
  }
  if (!stat.isFile()) throw new PermanentError(`the source ${quote(file)} is not a regular file`);
  if (stat.size === 0) throw new PermanentError("empty file");
  return stat.size;
}
