import type { Stats } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { errorMessage, PermanentError, pathErrorInWords } from "../errors.js";
import { quote } from "../quote.js";
import { defineHandler } from "../job/handler.js";

const MAX_PATHS = 10_000;
const filePath = z.string().min(1).max(4096);

/**
 * Deletes files (docs/handlers.md, "delete_file"), only under paths.writeRoots. Every path is checked before any is
 * deleted, so one path outside the roots fails the whole job with nothing touched. A symlink
 * is deleted itself, never its target; a directory only with `recursive`; a path already gone
 * is listed in `missing`, so running the same job again still completes.
 */
export default defineHandler({
  name: "delete_file",
  description: "Deletes paths (or path) under paths.writeRoots; directories only with recursive. Result: deleted, missing.",
  schema: z
    .object({
      path: filePath.optional(),
      paths: z.array(filePath).min(1).max(MAX_PATHS).optional(),
      recursive: z.boolean().default(false),
    })
    .strict()
    .refine((data) => (data.path === undefined) !== (data.paths === undefined), { message: 'give either "path" or "paths"' }),
  defaults: { timeoutSeconds: 3600 },
  async run(context, data) {
    // First check every path: inside the roots, and not a directory unless recursive.
    const plan: { given: string; target: string }[] = [];
    const targets = new Set<string>();
    for (const given of new Set(data.paths ?? [data.path!])) {
      const target = await context.paths.deletable(given);
      const stat = await lstatOrMissing(target, given);
      if (stat?.isDirectory() && !data.recursive) throw notRecursive(given);
      if (targets.has(target)) continue;
      targets.add(target);
      plan.push({ given, target });
    }

    // Then delete.
    const result = { deleted: [] as string[], missing: [] as string[] };
    for (const [index, { given, target }] of plan.entries()) {
      context.signal.throwIfAborted();
      try {
        const gone = await remove(target, given, data.recursive);
        (gone ? result.deleted : result.missing).push(given);
      } catch (error) {
        throw Object.assign(error as Error, { result }); // a failed job keeps what was already deleted
      }
      context.progress(((index + 1) / plan.length) * 100);
    }
    context.log.info(`deleted ${result.deleted.length}, already missing ${result.missing.length}`);
    return result;
  },
});

/** Deletes one checked path; false when it was already gone. */
async function remove(target: string, given: string, recursive: boolean): Promise<boolean> {
  // The parent was resolved when checked; if a folder on the way has since become a symlink, refuse.
  const parent = path.dirname(target);
  const realParent = await fs.realpath(parent).catch((error: NodeJS.ErrnoException) => {
    if (isMissing(error)) return undefined;
    throw failure(error, given);
  });
  if (realParent === undefined) return false;
  if (realParent !== parent) throw new PermanentError(`the path to delete ${quote(given)} changed while the job ran (a folder on its way is now a symlink)`);
  const stat = await lstatOrMissing(target, given);
  if (!stat) return false;
  try {
    if (stat.isDirectory()) {
      if (!recursive) throw notRecursive(given);
      await fs.rm(target, { recursive: true }); // never follows symlinks inside it
    } else {
      await fs.unlink(target); // a symlink goes itself; its target stays
    }
    return true;
  } catch (error) {
    if (error instanceof PermanentError) throw error;
    if (isMissing(error as NodeJS.ErrnoException)) return false;
    throw failure(error as NodeJS.ErrnoException, given);
  }
}

async function lstatOrMissing(target: string, given: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(target);
  } catch (error) {
    if (isMissing(error as NodeJS.ErrnoException)) return undefined;
    throw failure(error as NodeJS.ErrnoException, given);
  }
}

/** ENOTDIR: a folder on the way is a file, so the path cannot exist either. */
function isMissing(error: NodeJS.ErrnoException): boolean {
  return error.code === "ENOENT" || error.code === "ENOTDIR";
}

function notRecursive(given: string): PermanentError {
  return new PermanentError(`${quote(given)} is a directory; set recursive to delete it`);
}

/** Permission problems and impossible paths will not go away by retrying; anything else (EBUSY, EIO) may. */
function failure(error: NodeJS.ErrnoException, given: string): Error {
  if (error.code === "EACCES" || error.code === "EPERM" || error.code === "EROFS") {
    return new PermanentError(`permission denied: cannot delete ${quote(given)} (${error.code})`);
  }
  if (error.code === "ENAMETOOLONG" || error.code === "ELOOP") return new PermanentError(`cannot delete ${quote(given)}: ${pathErrorInWords(error.code)}`);
  return new Error(`cannot delete ${quote(given)}: ${error.code ?? errorMessage(error)}`);
}
