import fs from "node:fs/promises";
import path from "node:path";
import { PermanentError } from "../errors.js";

/**
 * Every path in job_data must lie under a configured root once resolved, symlinks included
 * (DESIGN §7). A path that does not exist yet (an output) is checked through its nearest
 * existing ancestor, so a symlinked directory cannot smuggle it out either.
 */
export async function resolveInside(candidate: string, roots: string[], role: "source" | "output"): Promise<string> {
  if (typeof candidate !== "string" || candidate.length === 0) throw new PermanentError(`the ${role} path is empty`);
  if (candidate.includes("\0")) throw new PermanentError(`the ${role} path contains a NUL character`);
  if (!path.isAbsolute(candidate)) throw new PermanentError(`the ${role} path ${JSON.stringify(candidate)} is not absolute`);
  if (roots.length === 0) {
    throw new PermanentError(`no ${role === "source" ? "paths.readRoots" : "paths.writeRoots"} are configured, so no ${role} path is allowed`);
  }
  const resolved = await realpathAllowMissing(path.resolve(candidate));
  for (const root of roots) {
    const realRoot = await fs.realpath(root).catch(() => path.resolve(root));
    if (resolved === realRoot || resolved.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep)) return resolved;
  }
  throw new PermanentError(`the ${role} ${JSON.stringify(candidate)} is outside the allowed roots`);
}

async function realpathAllowMissing(absolute: string): Promise<string> {
  const tail: string[] = [];
  let current = absolute;
  for (;;) {
    try {
      const real = await fs.realpath(current);
      return path.join(real, ...tail.reverse());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new PermanentError(`cannot resolve ${JSON.stringify(absolute)}: ${(error as Error).message}`);
      const parent = path.dirname(current);
      if (parent === current) return absolute;
      tail.push(path.basename(current));
      current = parent;
    }
  }
}
