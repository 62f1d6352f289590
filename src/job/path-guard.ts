import fs from "node:fs/promises";
import path from "node:path";
import { errorMessage, PermanentError, pathErrorInWords } from "../errors.js";
import { quote } from "../quote.js";

/**
 * Every path in job_data must lie under a configured root once resolved, symlinks included
 * (SECURITY.md, "Paths"). A path that does not exist yet (an output) is checked through its nearest
 * existing ancestor, so a symlinked directory cannot smuggle it out either. What exists must
 * be a regular file or a folder: opening a FIFO blocks for ever, a device never ends.
 * Paths appear in messages through quote(): shortened, control and bidi characters escaped.
 */
export async function resolveInside(candidate: string, roots: string[], role: "source" | "output"): Promise<string> {
  if (typeof candidate !== "string" || candidate.length === 0) throw new PermanentError(`the ${role} path is empty`);
  if (candidate.includes("\0")) throw new PermanentError(`the ${role} path contains a NUL character`);
  if (!path.isAbsolute(candidate)) throw new PermanentError(`the ${role} path ${quote(candidate)} is not absolute`);
  if (roots.length === 0) {
    throw new PermanentError(`no ${role === "source" ? "paths.readRoots" : "paths.writeRoots"} are configured, so no ${role} path is allowed`);
  }
  const resolved = await realpathAllowMissing(path.resolve(candidate));
  if (isInsideRoots(resolved, await realRoots(roots))) {
    await requireFileOrFolder(resolved, candidate, role);
    return resolved;
  }
  throw new PermanentError(`the ${role} ${quote(candidate)} is outside the allowed roots`);
}

/** The roots with their own symlinks resolved (a root that does not exist stays as given). */
export function realRoots(roots: string[]): Promise<string[]> {
  return Promise.all(roots.map((root) => fs.realpath(root).catch(() => path.resolve(root))));
}

/** A resolved path is a root or lies under one; "/srv/files-evil" is not under "/srv/files". */
export function isInsideRoots(resolved: string, realRootList: string[]): boolean {
  return realRootList.some((root) => resolved === root || isUnder(resolved, root));
}

async function requireFileOrFolder(resolved: string, candidate: string, role: "source" | "output"): Promise<void> {
  const stat = await fs.stat(resolved).catch(() => undefined); // missing: the handler says so in its own words
  if (stat && !stat.isFile() && !stat.isDirectory()) {
    throw new PermanentError(`the ${role} ${quote(candidate)} is not a regular file or folder (a FIFO, socket or device)`);
  }
}

async function realpathAllowMissing(absolute: string): Promise<string> {
  const tail: string[] = [];
  let current = absolute;
  for (;;) {
    try {
      const real = await fs.realpath(current);
      return path.join(real, ...tail.reverse());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") throw new PermanentError(`cannot resolve ${quote(absolute)}: ${pathErrorInWords(code) ?? code ?? errorMessage(error)}`);
      const parent = path.dirname(current);
      if (parent === current) return absolute;
      tail.push(path.basename(current));
      current = parent;
    }
  }
}

/**
 * For deletion: the path's last component is never followed (a symlink is deleted, not its
 * target), so only its parent folder is resolved, symlinks included, and the path must then
 * lie strictly under a root. A root itself, or a folder holding one, is refused, and so is any
 * `..` segment. Returns the resolved parent joined with the last component as given.
 */
export async function resolveDeletable(candidate: string, roots: string[]): Promise<string> {
  if (typeof candidate !== "string" || candidate.length === 0) throw new PermanentError("the path to delete is empty");
  if (candidate.includes("\0")) throw new PermanentError("the path to delete contains a NUL character");
  const shown = quote(candidate);
  if (!path.isAbsolute(candidate)) throw new PermanentError(`the path to delete ${shown} is not absolute`);
  if (candidate.split(path.sep).includes("..")) throw new PermanentError(`the path to delete ${shown} contains a ".." segment`);
  if (roots.length === 0) throw new PermanentError("no paths.writeRoots are configured, so nothing may be deleted");
  const absolute = path.resolve(candidate);
  const target = path.join(await realpathAllowMissing(path.dirname(absolute)), path.basename(absolute));
  const resolvedRoots = await realRoots(roots);
  if (resolvedRoots.some((root) => root === target || isUnder(root, target))) {
    throw new PermanentError(`the path to delete ${shown} is an allowed root or holds one; a root is never deleted`);
  }
  if (resolvedRoots.some((root) => isUnder(target, root))) return target;
  throw new PermanentError(`the path to delete ${shown} is outside the allowed roots`);
}

function isUnder(child: string, parent: string): boolean {
  return child !== parent && child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
}
