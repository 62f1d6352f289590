import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";

/**
 * The file system the hostile-input suite attacks: roots for the jobs, and beside them a
 * canary folder holding a secret, reachable from inside the roots only through symlinks.
 * If any job reads, writes or deletes through the roots' walls, the canary (or a snapshot
 * of everything outside the roots) shows it afterwards.
 */
export interface HostileWorld {
  /** Everything lives under here (the test's temporary folder). */
  dir: string;
  canary: string;
  /** Text in every canary file: it must never turn up inside the roots, a zip, or the database. */
  secret: string;
  /** paths.readRoots: [files]. */
  files: string;
  /** paths.writeRoots: [out, downloads]. */
  out: string;
  downloads: string;
  /** Outputs of the jobs go here (under out). */
  gen: string;
  /** delete_file jobs aim here (under out), so they never delete what other jobs use. */
  trash: string;
  /** Where the argv-dumping command template writes (under out). */
  dumps: string;
  /** The run's working directory: must stay empty (a relative path or `> file` would land here). */
  cwd: string;
  /** A script that writes its argv (after the first, the output file) as JSON. */
  argvDump: string;
}

export function makeHostileWorld(dir: string): HostileWorld {
  const secret = `CANARY-SECRET-${randomBytes(8).toString("hex")}`;
  const at = (...parts: string[]) => path.join(dir, ...parts);
  const world: HostileWorld = {
    dir,
    canary: at("canary"),
    secret,
    files: at("roots", "files"),
    out: at("roots", "out"),
    downloads: at("roots", "downloads"),
    gen: at("roots", "out", "gen"),
    trash: at("roots", "out", "trash"),
    dumps: at("roots", "out", "dumps"),
    cwd: at("cwd"),
    argvDump: at("bin", "argv-dump.mjs"),
  };
  for (const folder of [
    world.canary,
    path.join(world.canary, "sub"),
    world.files,
    world.gen,
    world.trash,
    world.dumps,
    world.downloads,
    world.cwd,
    path.dirname(world.argvDump),
  ]) {
    fs.mkdirSync(folder, { recursive: true });
  }
  fs.writeFileSync(path.join(world.canary, "secret.txt"), `${secret}\n`);
  fs.writeFileSync(path.join(world.canary, "sub", "deep.txt"), `${secret} deep\n`);
  fs.writeFileSync(path.join(world.canary, "notes.html"), `<html><body><p>${secret}</p></body></html>\n`);

  fs.writeFileSync(path.join(world.files, "a.txt"), "an ordinary file inside the roots\n");
  fs.writeFileSync(path.join(world.files, "doc.txt"), "Quarterly report. Nothing secret here.\n");
  fs.writeFileSync(path.join(world.files, "empty.txt"), "");
  fs.symlinkSync("photo.png", path.join(world.files, "inner-link.png")); // a symlink that stays inside: allowed
  // In every folder a job path can start from, the same ways out of the roots.
  for (const base of [world.files, world.gen, world.trash, world.dumps]) {
    fs.symlinkSync(world.canary, path.join(base, "escape-dir"));
    fs.symlinkSync(path.join(world.canary, "secret.txt"), path.join(base, "escape-file"));
    fs.symlinkSync(path.relative(base, world.canary), path.join(base, "escape-rel"));
    fs.symlinkSync("/etc", path.join(base, "escape-etc"));
    fs.symlinkSync("loop", path.join(base, "loop"));
    execFileSync("mkfifo", [path.join(base, "fifo")]); // opening it would block for ever
  }
  // delete_file may delete these links themselves (never their targets).
  fs.symlinkSync(world.canary, path.join(world.trash, "escape-dir-self"));
  fs.symlinkSync(path.join(world.canary, "secret.txt"), path.join(world.trash, "escape-file-self"));
  fs.writeFileSync(world.argvDump, 'import fs from "node:fs";\nconst [out, ...rest] = process.argv.slice(2);\nfs.writeFileSync(out, JSON.stringify(rest));\n');
  return world;
}

/** A small real photo in the read root (what create_previews and transforms legitimately work on). */
export async function addPhoto(world: HostileWorld): Promise<string> {
  const file = path.join(world.files, "photo.png");
  await sharp({ create: { width: 48, height: 32, channels: 3, background: "#3366cc" } })
    .png()
    .toFile(file);
  return file;
}

/** Every entry under `root` (not following symlinks): relative path → what it is and holds. */
export function snapshot(root: string, skip: (relative: string) => boolean = () => false): Map<string, string> {
  const entries = new Map<string, string>();
  const walk = (relative: string) => {
    const full = path.join(root, relative);
    const stat = fs.lstatSync(full);
    const mode = (stat.mode & 0o7777).toString(8);
    if (stat.isSymbolicLink()) entries.set(relative, `link ${fs.readlinkSync(full)}`);
    else if (stat.isFile()) entries.set(relative, `file ${mode} ${createHash("sha256").update(fs.readFileSync(full)).digest("hex")}`);
    else if (stat.isDirectory()) {
      entries.set(relative, `dir ${mode}`);
      for (const name of fs.readdirSync(full)) if (!skip(path.join(relative, name))) walk(path.join(relative, name));
    } else entries.set(relative, `special ${mode}`);
  };
  walk("");
  return entries;
}

/** Differences between two snapshots, one line each, for an assertion message. */
export function snapshotDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const [name, what] of before) {
    if (!after.has(name)) lines.push(`removed: ${name}`);
    else if (after.get(name) !== what) lines.push(`changed: ${name} (${what} → ${after.get(name)})`);
  }
  for (const name of after.keys()) if (!before.has(name)) lines.push(`appeared: ${name}`);
  return lines;
}

/** Every regular file under `root`, symlinks not followed. */
export function filesUnder(root: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) found.push(path.join(entry.parentPath, entry.name));
  }
  return found;
}
