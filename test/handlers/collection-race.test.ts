import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { collect, startCli, writeConfig } from "../helpers/cli.js";
import { tail, useTestEnvironment } from "../helpers/environment.js";
import { readZip } from "../helpers/zip.js";

/**
 * The check-then-open race of SECURITY.md, "Zip downloads": a folder inside the read roots is
 * flipped to a symlink leading outside and back, in a tight loop, by a process of its own,
 * while many collection_download jobs run. A path checked while the folder was real and opened
 * while it was the symlink used to put the outside file in the zip; every opened file is now
 * checked again, so no zip may ever hold the outside canary.
 */

const JOBS = 60;
const FILES_PER_JOB = 6;
const CANARY = "CANARY-outside-the-roots";

let inbox: string;
let outside: string;
let downloads: string;
let out: string;
let config: string;

const env = useTestEnvironment("oj-collection-race-", async ({ dir, db }) => {
  inbox = path.join(dir, "in");
  outside = path.join(dir, "outside");
  downloads = path.join(dir, "downloads");
  out = path.join(dir, "out");
  for (const folder of [path.join(inbox, "swap"), path.join(outside, "swap"), downloads, out]) fs.mkdirSync(folder, { recursive: true });
  // A blue photo inside, a red one of the same name outside: a red output was read outside.
  await sharp({ create: { width: 40, height: 30, channels: 3, background: "#3366cc" } })
    .png()
    .toFile(path.join(inbox, "swap", "photo.png"));
  await sharp({ create: { width: 40, height: 30, channels: 3, background: "#ff0000" } })
    .png()
    .toFile(path.join(outside, "swap", "photo.png"));
  // Same names on both sides: only the content tells which side was read.
  for (let i = 0; i < FILES_PER_JOB; i++) {
    fs.writeFileSync(path.join(inbox, "swap", `f${i}.txt`), `inside ${i}\n`.repeat(2000));
    fs.writeFileSync(path.join(outside, "swap", `f${i}.txt`), `${CANARY} ${i}\n`.repeat(2000));
  }
  config = writeConfig(dir, {
    database: { url: db.url },
    lockDir: path.join(dir, "locks"),
    paths: { readRoots: [inbox], writeRoots: [downloads, out] },
    downloads: { dir: downloads, baseUrl: "https://example.org/dl/" },
    previews: { sizes: { thm: { width: 16, height: 16 } } },
    types: Object.fromEntries(["collection_download", "extract_text", "create_previews", "create_alternative_file"].map((type) => [type, { maxAttempts: 1 }])),
  });
});

/**
 * Flips in/swap between the real folder and a symlink to outside/swap, holding each state a
 * random 0–realMs and 0–linkMs, until killed. Renames, not copies: the real folder is never lost.
 */
function startFlipper(realMs = 2, linkMs = 2): ChildProcess {
  const script = `
    const fs = require("node:fs");
    const [swap, aside, target, realMs, linkMs] = process.argv.slice(1);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const pause = (ms) => Atomics.wait(nap, 0, 0, Math.random() * Number(ms));
    for (;;) {
      fs.renameSync(swap, aside);
      fs.symlinkSync(target, swap);
      pause(linkMs);
      fs.unlinkSync(swap);
      fs.renameSync(aside, swap);
      pause(realMs);
    }`;
  const args = [path.join(inbox, "swap"), path.join(inbox, ".swap-aside"), path.join(outside, "swap"), String(realMs), String(linkMs)];
  return spawn(process.execPath, ["-e", script, ...args], { stdio: "ignore" });
}

/** Runs the queue while the flipper flips; the real folder is back in place afterwards. */
async function runUnderFlipper(realMs?: number, linkMs?: number): Promise<void> {
  const flipper = startFlipper(realMs, linkMs);
  let run;
  try {
    run = await collect(startCli(["run", "--max-jobs", "4"], { config }), 180_000);
  } finally {
    flipper.kill("SIGKILL");
    await new Promise((resolve) => (flipper.exitCode !== null || flipper.signalCode !== null ? resolve(undefined) : flipper.once("exit", resolve)));
  }
  // Put the real folder back if the flipper was stopped between its two renames.
  const aside = path.join(inbox, ".swap-aside");
  if (fs.existsSync(aside)) {
    fs.rmSync(path.join(inbox, "swap"), { force: true });
    fs.renameSync(aside, path.join(inbox, "swap"));
  }
  assert.equal(run.code, 0, `the run failed:\n${tail(run.stderr)}`);
}

test("a folder flipped to a symlink out of the roots while collections are zipped never puts an outside file in a zip", async (t) => {
  const files = Array.from({ length: FILES_PER_JOB }, (_, i) => ({ path: path.join(inbox, "swap", `f${i}.txt`) }));
  for (let i = 0; i < JOBS; i++) await env.db.insertJob("collection_download", { files, compression: "store" }, { user: "ann" });
  await runUnderFlipper();

  const jobs = await env.db.query<{ ref: number; status: string; error: string | null }>(
    "SELECT ref, status, error FROM job_queue WHERE type = 'collection_download'",
  );
  const leaked: string[] = [];
  let zips = 0;
  for (const name of fs.readdirSync(downloads).filter((n) => n.endsWith(".zip"))) {
    zips++;
    for (const item of await readZip(path.join(downloads, name))) {
      if (item.data!.includes(CANARY)) leaked.push(`${name}: ${item.name}`);
    }
  }
  const complete = jobs.filter((j) => j.status === "complete").length;
  const caughtAtOpen = jobs.filter((j) => /replaced by a link leading outside the allowed roots/.test(j.error ?? "")).length;
  const caughtAtCheck = jobs.filter((j) => /is outside the allowed roots/.test(j.error ?? "")).length;
  const other = jobs.filter((j) => j.status === "failed" && !/outside the allowed roots|none of the \d+ files were found/.test(j.error ?? ""));
  t.diagnostic(
    `${JOBS} jobs under the flipper: ${complete} complete (${zips} zips), ${caughtAtCheck} refused at the check, ${caughtAtOpen} caught after the open`,
  );
  assert.deepEqual(leaked, [], "these zip entries hold the outside file's content: the swapped folder was followed out of the roots");
  assert.deepEqual(
    other.map((j) => `${j.ref}: ${j.error}`),
    [],
    "a job failed for another reason than the swap",
  );
  assert.ok(
    jobs.every((j) => j.status === "complete" || j.status === "failed"),
    "every job ended",
  );
  assert.ok(complete > 0, "some jobs must have been zipped, or the race was never open");
});

test("extract_text, create_previews and create_alternative_file read the file they checked, not what a flipped folder leads to", async (t) => {
  await env.db.query("DELETE FROM job_queue");
  for (let i = 0; i < 30; i++) {
    await env.db.insertJob("extract_text", { source: path.join(inbox, "swap", `f${i % FILES_PER_JOB}.txt`) });
    await env.db.insertJob("create_alternative_file", {
      source: path.join(inbox, "swap", "photo.png"),
      output: path.join(out, `alt-${i}.png`),
      transform: { format: "png", width: 8 },
    });
    await env.db.insertJob("create_previews", { source: path.join(inbox, "swap", "photo.png"), outputDir: path.join(out, `previews-${i}`) });
  }
  // Real most of the time, so that most checks pass and the open comes during a flip.
  await runUnderFlipper(4, 1);
  const jobs = await env.db.query<{ ref: number; type: string; status: string; error: string | null; result: string | null }>(
    "SELECT ref, type, status, error, result FROM job_queue",
  );
  const leaked = jobs.filter((j) => (j.result ?? "").includes(CANARY)).map((j) => `${j.ref} ${j.type}`);
  const red: string[] = [];
  for (const entry of fs.readdirSync(out, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.(png|jpe?g)$/.test(entry.name)) continue;
    const [r, , b] = (await sharp(path.join(entry.parentPath, entry.name)).stats()).channels.map((c) => c.mean);
    if (r! > 180 && b! < 60) red.push(path.relative(out, path.join(entry.parentPath, entry.name)));
  }
  const complete = (type: string) => jobs.filter((j) => j.type === type && j.status === "complete").length;
  t.diagnostic(
    `under the flipper: extract_text ${complete("extract_text")}/30, create_alternative_file ${complete("create_alternative_file")}/30, create_previews ${complete("create_previews")}/30 complete`,
  );
  assert.deepEqual(leaked, [], "these jobs' results hold the outside file's text");
  assert.deepEqual(red, [], "these outputs were made from the red photo outside the roots");
  assert.ok(
    jobs.every((j) => j.status === "complete" || j.status === "failed"),
    "every job ended",
  );
  assert.ok(
    ["extract_text", "create_alternative_file", "create_previews"].every((type) => complete(type) > 0),
    "some jobs of each type completed, or the race was never open",
  );
});
