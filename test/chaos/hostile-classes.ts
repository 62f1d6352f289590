import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { bases, baseDir, type Base, type FieldSpec } from "./hostile-bases.js";
import type { HostileRow } from "./hostile-rows.js";
import { stringify, type Json } from "./hostile-values.js";
import type { HostileWorld } from "./hostile-world.js";

/**
 * Hostile rows by class, not by instance (SECURITY.md, "Paths"; docs/reliability.md, "Hostile input"):
 * - paths: every path-bearing field of every built-in type through a fresh symlink out of the
 *   roots, a FIFO, a folder flipped to a symlink while the jobs run, a sibling folder sharing a
 *   root's prefix, and playlists (an .m3u8, an .mp4) whose body names a video outside;
 * - controls: every text field (job_data strings, type, user, the notice texts) with ESC, BEL,
 *   OSC 52, C1 and bidi controls;
 * - numbers: every numeric column of the job table at its limits.
 * Each row carries its class, so that the suite can count them and say which class failed.
 */

/** Terminal and display controls: what a log viewer, a terminal or a web page could act on. */
export const CONTROLS: Array<[string, string]> = [
  ["esc", "a\u001bb"],
  ["bel", "a\u0007b"],
  ["osc52-clipboard", "\u001b]52;c;cHduZWQ=\u0007"],
  ["osc52-st", "\u001b]52;c;cHduZWQ=\u001b\\"],
  ["osc-title", "\u001b]0;pwned\u0007"],
  ["osc8-link", "\u001b]8;;https://evil.example/\u001b\\click\u001b]8;;\u001b\\"],
  ["csi-clear", "\u001b[2J\u001b[H"],
  ["c1-csi", "x\u009b31my"],
  ["c1-osc", "\u009d52;c;cHduZWQ=\u009c"],
  ["c1-nel", "x\u0085y"],
  ["del", "x\u007fy"],
  ["backspace", "safe\u0008\u0008\u0008\u0008evil"],
  ["carriage-return", "innocent\rEVIL"],
  ["bidi-rlo", "report\u202Egpj.exe"],
  ["bidi-isolate", "\u2067abc\u2069"],
  ["bidi-marks", "\u200e\u200f\u061c"],
];

/** Where the class rows need things of their own in the world. */
export interface ClassWorld {
  /** Folders inside the roots that the flipper swaps for symlinks out of them. */
  swaps: Array<{ inside: string; outside: string }>;
  /** Outside the roots and the canary: where an output or deletion through a swapped folder lands. */
  swapOut: string;
  /** A sibling of the read root sharing its prefix ("files-evil"), outside the roots. */
  evil: string;
  /** Playlists inside the read root naming a red video in the canary. */
  playlists: string[];
  /**
   * In the files behind files/swap-cmd (outside the roots, not in the canary): command templates
   * get their read paths by name (command-template.ts), so a swap can still feed them an outside
   * file; the suite reports that apart, as a residual risk.
   */
  swapSecret: string;
}

const RED = { r: 255, g: 0, b: 0 };

/**
 * Adds to the world: swap folders (real inside, same names outside holding the secret and a
 * red photo), a "files-evil" sibling, per-base FIFOs and links, and playlists naming a red
 * video made once with ffmpeg. Outside content is red or holds the secret, so that anything
 * derived from it shows (redDerived(), the secret checks).
 */
export async function addClassWorld(world: HostileWorld): Promise<ClassWorld> {
  const swapOut = path.join(world.dir, "swap-out");
  const evil = `${world.files}-evil`;
  fs.mkdirSync(evil, { recursive: true });
  fs.writeFileSync(path.join(evil, "a.txt"), `${world.secret} in a sibling sharing the root's prefix\n`);
  await sharp({ create: { width: 40, height: 40, channels: 3, background: RED } })
    .png()
    .toFile(path.join(evil, "photo.png"));
  fs.mkdirSync(`${world.out}-evil`, { recursive: true });
  fs.writeFileSync(path.join(`${world.out}-evil`, "a.txt"), "a sibling of the write root sharing its prefix: must not be deleted\n");
  const outsideRead = path.join(world.canary, "swap-read");
  fs.mkdirSync(outsideRead, { recursive: true });
  fs.writeFileSync(path.join(outsideRead, "a.txt"), `${world.secret} through a swapped folder\n`);
  fs.writeFileSync(path.join(outsideRead, "doc.txt"), `${world.secret} through a swapped folder\n`);
  await sharp({ create: { width: 40, height: 40, channels: 3, background: RED } })
    .png()
    .toFile(path.join(outsideRead, "photo.png"));

  const swaps: ClassWorld["swaps"] = [];
  const swapSecret = `SWAP-READ-${world.secret}`.replace("CANARY-SECRET-", "");
  const outsideCommand = path.join(swapOut, "read");
  const insideCommand = path.join(world.files, "swap-cmd");
  for (const folder of [outsideCommand, insideCommand]) fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(outsideCommand, "doc.txt"), `${swapSecret}\n`);
  fs.writeFileSync(path.join(insideCommand, "doc.txt"), "inside the swap folder\n");
  swaps.push({ inside: insideCommand, outside: outsideCommand });
  const insideRead = path.join(world.files, "swap");
  fs.mkdirSync(insideRead);
  fs.writeFileSync(path.join(insideRead, "a.txt"), "inside the swap folder\n");
  fs.writeFileSync(path.join(insideRead, "doc.txt"), "inside the swap folder\n");
  fs.copyFileSync(path.join(world.files, "photo.png"), path.join(insideRead, "photo.png"));
  swaps.push({ inside: insideRead, outside: outsideRead });
  for (const base of [world.gen, world.dumps, world.trash]) {
    const inside = path.join(base, "swap");
    const outside = path.join(swapOut, path.basename(base));
    fs.mkdirSync(inside, { recursive: true });
    fs.mkdirSync(outside, { recursive: true });
    for (let k = 0; k < 400; k++) fs.writeFileSync(path.join(outside, `victim-${k}`), "outside: must not be deleted\n");
    swaps.push({ inside, outside });
  }
  for (const base of [world.files, world.gen, world.dumps, world.trash]) {
    fs.symlinkSync(path.join(world.canary, "secret.txt"), path.join(base, "class-link-out"));
    fs.symlinkSync(path.join(world.canary, "sub"), path.join(base, "class-dir-out"));
    execFileSync("mkfifo", [path.join(base, "class-fifo")]);
  }

  // A red one-second video outside the roots, and playlists inside that name it.
  const video = path.join(world.canary, "outside.ts");
  execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "color=c=red:s=64x64:d=1:r=10", "-c:v", "mpeg2video", "-f", "mpegts", "-y", video]);
  fs.copyFileSync(video, path.join(world.canary, "outside.mp4"));
  const playlist = (target: string) => `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.0,\n${target}\n#EXT-X-ENDLIST\n`;
  const playlists = [
    ["playlist.m3u8", playlist(video)],
    ["playlist.mp4", playlist(video)],
    ["playlist-rel.m3u8", playlist(path.relative(world.files, video))],
    ["playlist-url.m3u8", playlist(`file:${path.join(world.canary, "outside.mp4")}`)],
    ["concat.ffconcat", `ffconcat version 1.0\nfile '${video}'\n`],
  ].map(([name, body]) => {
    fs.writeFileSync(path.join(world.files, name!), body!);
    return path.join(world.files, name!);
  });
  return { swaps, swapOut, evil, playlists, swapSecret };
}

/**
 * A process of its own that flips every swap folder to a symlink leading out of the roots and
 * back, each state held 0–2 ms, until stopped. Renames only: the real folder is never lost.
 */
export function startSwapFlipper(swaps: ClassWorld["swaps"]): { stop(): Promise<void> } {
  const script = `
    const fs = require("node:fs");
    const swaps = JSON.parse(process.argv[1]);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const pause = () => Atomics.wait(nap, 0, 0, Math.random() * 2);
    for (;;) {
      for (const { inside, outside } of swaps) { fs.renameSync(inside, inside + ".aside"); fs.symlinkSync(outside, inside); }
      pause();
      for (const { inside } of swaps) { fs.unlinkSync(inside); fs.renameSync(inside + ".aside", inside); }
      pause();
    }`;
  const child: ChildProcess = spawn(process.execPath, ["-e", script, JSON.stringify(swaps)], { stdio: "ignore" });
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
      for (const { inside } of swaps) {
        if (!fs.existsSync(`${inside}.aside`)) continue;
        // recursive: a job may have made a real folder at `inside` while the link was away (between
        // the flipper's rename and its symlink); rm removes a symlink itself, never what it leads to.
        fs.rmSync(inside, { force: true, recursive: true });
        fs.renameSync(`${inside}.aside`, inside);
      }
    },
  };
}

/** The class rows: paths, controls and numbers. */
export function classRows(world: HostileWorld, extra: ClassWorld, first: number): HostileRow[] {
  const rows: HostileRow[] = [];
  let i = first;
  const row = (base: Base, klass: string, label: string, data: Record<string, Json> | string, more: Partial<HostileRow> = {}) =>
    rows.push({ type: base.type, jobData: typeof data === "string" ? data : stringify(data), user: null, label: `${base.name}: ${label}`, klass, ...more });
  const all = [...bases(world), presetBase(world)];

  for (const base of all) {
    for (const spec of base.fields) {
      const field = spec.at.join(".");
      const set = (value: Json) => setAt(base.data(i++), spec.at, value);
      if (spec.role) {
        const dir = baseDir(world, spec, base);
        const reads = spec.role === "read";
        const deletes = spec.role === "delete";
        // A link is deleted itself, never its target: for delete_file only following it escapes.
        row(base, "path:symlink-out", `${field} a fresh symlink out of the roots`, set(`${dir}/class-link-out`), {
          field,
          ...(deletes ? {} : { expect: "failed", escapes: true }),
        });
        row(base, "path:symlink-out", `${field} through a symlinked folder out of the roots`, set(`${dir}/class-dir-out/deep.txt`), {
          field,
          expect: "failed",
          escapes: true,
        });
        row(base, "path:fifo", `${field} a FIFO`, set(`${dir}/class-fifo`), { field, ...(deletes ? {} : { expect: "failed" }) });
        // Either outcome is right, after a retry too (the folder can vanish between the flipper's
        // two renames); what the flipper must never achieve shows in the checks.
        const readSwap =
          base.type === "command" ? `${dir}/swap-cmd/doc.txt` : `${dir}/swap/${/photo|previews|transform|preset/.test(base.name) ? "photo.png" : "doc.txt"}`;
        const swapped = reads ? readSwap : `${dir}/swap/${deletes ? `victim-${i % 400}` : `class-${i}.out`}`;
        for (let k = 0; k < 4; k++)
          row(base, "path:swap", `${field} a folder swapped for a symlink (${k + 1})`, set(swapped), { field, swap: true, transient: true });
        const sibling = reads ? `${extra.evil}/a.txt` : `${world.out}-evil/${deletes ? "a.txt" : `class-${i}.out`}`;
        row(base, "path:sibling-prefix", `${field} a sibling folder sharing the root's prefix`, set(sibling), { field, expect: "failed", escapes: true });
        if (reads)
          for (const playlist of extra.playlists)
            row(base, "path:playlist", `${field} ${path.basename(playlist)} naming a video outside`, set(playlist), { field, playlist: true });
      }
      if (spec.accepts.includes("string")) {
        for (const [label, text] of CONTROLS) row(base, "text:controls", `${field} ${label}`, set(text), { field });
      }
    }
  }

  // The columns the application fills: type, user, the notice texts.
  const noop = all.find((b) => b.name === "noop")!;
  const dump = all.find((b) => b.name === "command-dump")!;
  for (const [label, text] of CONTROLS) {
    // An unknown type is never claimed (no handler here takes it): it must stay pending, untouched.
    row(noop, "text:controls", `type ${label}`, {}, { type: `noop${text}`.slice(0, 64), expect: "pending", field: "type" });
    const n = i++;
    row(dump, "text:controls", `user ${label}`, dump.data(n), {
      user: text,
      field: "user",
      expect: "complete",
      dump: { file: dump.dumpFile!(n), a: "alpha", b: "beta" },
    });
    row(noop, "text:controls", `success_text ${label}`, {}, { columns: { success_text: `done ${text} {user}` }, expect: "complete" });
    row(noop, "text:controls", `failure_text ${label}`, { fail: "permanent" }, { columns: { failure_text: `failed ${text} {error}` }, expect: "failed" });
  }

  // Every numeric column at its limits (src/queue/migrations.ts).
  const numbers: Array<[string, Record<string, number | string | null>, HostileRow["expect"]]> = [
    ["priority SMALLINT min", { priority: -32768 }, "complete"],
    ["priority SMALLINT max", { priority: 32767 }, "complete"],
    ["priority 0", { priority: 0 }, "complete"],
    ["attempts 0", { attempts: 0 }, "complete"],
    ["attempts at max_attempts", { attempts: 5, max_attempts: 5 }, undefined],
    ["attempts SMALLINT UNSIGNED max", { attempts: 65535 }, undefined],
    ["attempts max, max_attempts max", { attempts: 65535, max_attempts: 65535 }, undefined],
    ["attempts one below max", { attempts: 65534, max_attempts: 65535 }, undefined],
    ["max_attempts 0", { max_attempts: 0 }, undefined],
    ["max_attempts 1", { max_attempts: 1 }, "complete"],
    ["max_attempts SMALLINT UNSIGNED max", { max_attempts: 65535 }, "complete"],
    ["progress TINYINT UNSIGNED max", { progress: 255 }, "complete"],
    ["progress 0", { progress: 0 }, "complete"],
    ["run_after DATETIME min", { run_after: "1000-01-01 00:00:00.000" }, "complete"],
    ["run_after epoch", { run_after: "1970-01-01 00:00:00.000" }, "complete"],
  ];
  // The rows whose claim could overflow attempts go last, so that a run stopped by them leaves the others done.
  numbers.sort(([, a], [, b]) => Number(Number(a.attempts ?? 0) >= 65535) - Number(Number(b.attempts ?? 0) >= 65535));
  for (const [label, columns, expect] of numbers) {
    row(noop, "number:limits", label, {}, { columns, expect, field: Object.keys(columns).join("+") });
    row(
      noop,
      "number:limits",
      `${label}, failing`,
      { fail: "permanent" },
      { columns, expect: expect === undefined ? undefined : "failed", field: Object.keys(columns).join("+") },
    );
  }
  // ref at the limits of what JavaScript's numbers hold exactly, and of the column; last, so
  // that AUTO_INCREMENT never has to count past them.
  // Beyond 2^53 − 1 a ref is refused, never rounded: the claim fails the row with its exact ref
  // (SECURITY.md, "Column values").
  for (const ref of ["9007199254740991", "9007199254740993", "18446744073709551614"]) {
    const expect = BigInt(ref) > BigInt(Number.MAX_SAFE_INTEGER) ? "failed" : "complete";
    row(noop, "number:limits", `ref ${ref}`, {}, { columns: { ref }, expect, field: "ref", last: true });
  }
  return rows;
}

/** create_alternative_file with an ffmpeg preset: the source goes to ffprobe and ffmpeg. */
function presetBase(world: HostileWorld): Base {
  return {
    name: "alternative-preset",
    type: "create_alternative_file",
    data: (i) => ({ source: `${world.files}/clip.mp4`, output: `${world.gen}/preset-${i}.mp4`, preset: "small" }),
    completes: true,
    fields: [
      { at: ["source"], accepts: ["string"], role: "read", text: "fails", required: true },
      { at: ["output"], accepts: ["string"], role: "write", text: "fails", required: true },
    ],
  };
}

/** A short blue video inside the roots, for the preset base; the preset for the hostile config. */
export function addClip(world: HostileWorld): void {
  execFileSync("ffmpeg", [
    "-v",
    "error",
    "-f",
    "lavfi",
    "-i",
    "color=c=0x3366cc:s=64x48:d=1:r=10",
    "-pix_fmt",
    "yuv420p",
    "-y",
    path.join(world.files, "clip.mp4"),
  ]);
}
export const PRESETS = { small: { args: ["-t", "1", "-vf", "scale=32:-2", "-an", "-c:v", "mpeg4"], format: "mp4" } };

/** Every image under `root` whose colour is the outside content's red: derived from outside. */
export async function redDerived(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.(jpe?g|png|webp|avif|gif|tiff?)$/i.test(entry.name)) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (file.startsWith(`${root}/files/`) && !file.includes("/gen/")) continue; // the sources themselves
    try {
      const { channels } = await sharp(file).stats();
      const [r, g, b] = channels.map((c) => c.mean);
      if (r! > 180 && g! < 60 && b! < 60) found.push(file);
    } catch {
      // not an image after all
    }
  }
  return found;
}

function setAt(target: Record<string, Json>, at: (string | number)[], value: Json): Record<string, Json> {
  const copy = structuredClone(target);
  let node: any = copy;
  at.slice(0, -1).forEach((key, k) => {
    node[key] ??= typeof at[k + 1] === "number" ? [] : {};
    node = node[key];
  });
  node[at.at(-1)!] = value;
  return copy;
}

export type { FieldSpec };
