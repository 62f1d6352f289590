import fs from "node:fs";
import path from "node:path";

/**
 * The config file and the lock folder belong to the operator. Inside a root a job can reach
 * them: collection_download could zip the config (and the database password in it) for
 * anyone to download, create_alternative_file or a command template could overwrite it (and
 * name the programs the runner starts), delete_file could remove the locks that keep two runs
 * apart. The loader warns; `doctor` fails. (SECURITY.md, "What the config must protect".)
 */

export interface PlacementInput {
  configPath?: string;
  lockDir: string;
  paths: { readRoots: string[]; writeRoots: string[] };
}

/** One sentence per thing the jobs could reach; empty when all is well. */
export function placementProblems(config: PlacementInput): string[] {
  const roots = [
    ...config.paths.readRoots.map((root) => ({ root, key: "paths.readRoots" })),
    ...config.paths.writeRoots.map((root) => ({ root, key: "paths.writeRoots" })),
  ];
  const problems: string[] = [];
  const check = (what: string, where: string) => {
    const real = realpathAllowMissing(where);
    const holder = roots.find(({ root }) => isInside(real, realpathAllowMissing(root)));
    if (holder) problems.push(`${what} ${where} is inside ${holder.key} ${holder.root}, where jobs can read or write it; move it out of the roots`);
  };
  if (config.configPath) check("the config file", config.configPath);
  check("lockDir", config.lockDir);
  return problems;
}

function isInside(child: string, root: string): boolean {
  return child === root || child.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** realpath of the nearest existing ancestor, the rest joined on: a lock folder not made yet is still placed. */
function realpathAllowMissing(file: string): string {
  const tail: string[] = [];
  let current = path.resolve(file);
  for (;;) {
    try {
      return path.join(fs.realpathSync(current), ...tail.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return path.resolve(file);
      tail.push(path.basename(current));
      current = parent;
    }
  }
}
