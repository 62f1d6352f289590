import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import sharp from "sharp";
import { collect, linesOf, makeTempDir, runCli, startCli, waitFor } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * docs/reliability.md, "Faults": faults other than crashes and the database: a full disk while a zip or a preview
 * is written, a subprocess that hangs (its child too, both deaf to SIGTERM), and a graceful
 * stop (SIGTERM) of a run in the middle of its work.
 */

const env = useTestEnvironment("oj-faults-", (env) => {
  fs.mkdirSync(path.join(env.dir, "inbox"));
});

/** A 2 MB tmpfs: a disk that fills up. Mounting needs root (and a kernel that lets us), so it is tried up front. */
const { full, noMount } = mountSmallDisk();
after(() => {
  if (!full) return;
  spawnSync("umount", [full]);
  fs.rmSync(full, { recursive: true, force: true });
});

function mountSmallDisk(): { full?: string; noMount?: string } {
  const dir = makeTempDir("oj-full-");
  const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir], { encoding: "utf8" });
  if (mount.status === 0) return { full: dir };
  fs.rmSync(dir, { recursive: true, force: true });
  return { noMount: `cannot mount a small tmpfs to fill up (${(mount.stderr || mount.error?.message || `exit ${mount.status}`).trim()})` };
}

const inbox = () => path.join(env.dir, "inbox");

/** Empties the small disk between tests. */
function emptyFullDisk(): void {
  for (const entry of fs.readdirSync(full!)) fs.rmSync(path.join(full!, entry), { recursive: true, force: true });
}

/** Fills the small disk until `leave` bytes are free. */
function fillUp(leave: number): void {
  const { bavail, bsize } = fs.statfsSync(full!);
  fs.writeFileSync(path.join(full!, "filler"), Buffer.alloc(Math.max(0, bavail * bsize - leave)));
}

function configWith(name: string, overrides: Record<string, unknown>): string {
  return hostConfig(env, "host-a", overrides, name);
}

interface JobRow {
  status: string;
  attempts: number;
  error: string | null;
  log: string | null;
}

const jobRow = async (ref: number) => (await env.db.query<JobRow>("SELECT status, attempts, error, log FROM job_queue WHERE ref = ?", [ref]))[0]!;

test("disk full while a zip is written: the job fails saying so, and no partial or temporary zip is left", { skip: noMount }, async () => {
  emptyFullDisk();
  const downloads = path.join(full!, "downloads");
  const files = [1, 2, 3].map((i) => {
    const file = path.join(inbox(), `photo-${i}.jpg`);
    fs.writeFileSync(file, randomBytes(1024 * 1024)); // incompressible, and stored anyway: 3 MB on a 2 MB disk
    return { path: file };
  });
  const config = configWith("zip", {
    paths: { readRoots: [inbox()], writeRoots: [full!] },
    downloads: { dir: downloads, baseUrl: "https://example.org/dl/", ttlHours: 72 },
  });
  const ref = await env.db.insertJob("collection_download", { files, name: "holiday" });
  const run = await runCli(["--job", String(ref)], { config, timeoutMs: 60_000 });
  assert.equal(run.code, 1, `run --job of a job that failed should exit 1; stderr:\n${tail(run.stderr)}`);
  const row = await jobRow(ref);
  assert.equal(row.status, "failed", `the zip job should have failed; log:\n${row.log}`);
  assert.match(row.error ?? "", /disk full|no space left/i, "the error should say the disk is full, in words");
  assert.doesNotMatch(row.error ?? "", /ENOSPC|\n/, "one sentence, not an errno");
  assert.deepEqual(fs.readdirSync(downloads), [], "neither the zip nor its temporary file may be left in downloads.dir");
  assert.ok(fs.statfsSync(full!).bfree * fs.statfsSync(full!).bsize > 1.9 * 1024 * 1024, "the space the partial zip took should be free again");
});

test("disk full while previews are written: the job fails saying so, and no preview or temporary file is left", { skip: noMount }, async () => {
  emptyFullDisk();
  const source = path.join(inbox(), "noise.jpg");
  // Noise does not compress: the 1000-pixel preview alone needs far more than the room left.
  await sharp({ create: { width: 1600, height: 1600, channels: 3, background: "#808080", noise: { type: "gaussian", mean: 128, sigma: 60 } } })
    .jpeg({ quality: 95 })
    .toFile(source);
  const outputDir = path.join(full!, "previews");
  fs.mkdirSync(outputDir);
  fillUp(96 * 1024);
  const config = configWith("previews", {
    paths: { readRoots: [inbox()], writeRoots: [full!] },
    previews: { sizes: { thm: { width: 150, height: 150 }, pre: { width: 1000, height: 1000 } }, quality: 95 },
    types: { create_previews: { maxAttempts: 1 } },
  });
  const ref = await env.db.insertJob("create_previews", { source, outputDir });
  const run = await runCli(["--job", String(ref)], { config, timeoutMs: 60_000 });
  assert.equal(run.code, 1, `run --job of a job that failed should exit 1; stderr:\n${tail(run.stderr)}`);
  const row = await jobRow(ref);
  assert.equal(row.status, "failed", `the preview job should have failed; log:\n${row.log}`);
  assert.match(row.error ?? "", /no space left|disk full/i, "the error should say the disk is full, in words");
  assert.ok(!(row.error ?? "").includes(outputDir), `the error should be a sentence, not a temporary file's name: ${row.error}`);
  assert.deepEqual(fs.readdirSync(outputDir), [], "previews are written all or none: no small preview, no temporary file left");
});

/** Gone, or a zombie waiting for a parent that is gone too: either way it runs no more. */
function isGone(pid: number): boolean {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    return /^State:\s+Z/m.test(status);
  } catch {
    return true;
  }
}

test(
  "a hung subprocess tree (deaf to SIGTERM) is killed at the template's timeout; the job retries, then fails 'timed out', and the run goes on to the next job",
  { timeout: 60_000 },
  async () => {
    const pidFile = path.join(env.dir, "hang.pids");
    const recordFile = path.join(env.dir, "after-hang.runs");
    const config = configWith("hang", {
      leaseSeconds: 5,
      paths: { writeRoots: [env.dir] },
      commands: {
        // The shell ignores SIGTERM, starts a child that inherits that, writes both pids, and both sleep "forever".
        hang: {
          argv: ["sh", "-c", 'trap "" TERM; sleep 3600 & echo "$$ $!" >> "$1"; sleep 3600', "hang", "{pidfile}"],
          args: { pidfile: "write" },
          timeoutSeconds: 2,
        },
      },
      types: { command: { maxAttempts: 2, backoff: { initialSeconds: 0, maxSeconds: 0 } } },
    });
    const hung = await env.db.insertJob("command", { command: "hang", args: { pidfile: pidFile } }, { priority: 0 });
    const next = await env.db.insertJob("record", { file: recordFile }, { priority: 1 });

    const run = await runCli(["run", "--max-jobs", "1"], { config, timeoutMs: 50_000 });
    assert.equal(run.code, 0, `the run should carry on past a failed job and exit 0; stderr:\n${tail(run.stderr)}`);
    const row = await jobRow(hung);
    assert.equal(row.status, "failed", `the hung job should have failed; log:\n${row.log}`);
    assert.equal(row.attempts, 2, "it should have been retried once before failing");
    assert.match(row.error ?? "", /^command "hang" timed out after 2 s and was killed \(gave up after 2 attempts\)$/);
    assert.equal((await jobRow(next)).status, "complete", "the job after the hung one should have run in the same run");
    assert.equal(linesOf(recordFile).length, 1);

    const pids = fs.readFileSync(pidFile, "utf8").trim().split(/\s+/).map(Number);
    assert.equal(pids.length, 4, `each attempt should have recorded the shell's and its child's pid: ${pids.join(" ")}`);
    const alive = pids.filter((pid) => !isGone(pid));
    assert.deepEqual(alive, [], `the whole tree of each attempt should be dead, still alive: ${alive.join(", ")}`);
  },
);

test("SIGTERM during work: running jobs finish, unstarted claims go back to pending, nothing is left running", { timeout: 60_000 }, async () => {
  const recordFile = path.join(env.dir, "sigterm.runs");
  const config = configWith("sigterm", { leaseSeconds: 5 });
  await env.db.query("DELETE FROM job_queue");
  const rows = Array.from({ length: 12 }, () => ["record", JSON.stringify({ file: recordFile, sleepMs: 1500 })]);
  await env.db.query("INSERT INTO job_queue (type, job_data) VALUES ?", [rows]);

  const child = startCli(["run", "--max-jobs", "2"], { config });
  const ended = collect(child, 40_000);
  await waitFor(() => linesOf(recordFile).length >= 2, "two jobs to start", 20_000);
  process.kill(child.pid!, "SIGTERM"); // the process only, as systemd's stop or an operator's kill sends it
  const result = await ended;
  assert.equal(
    result.code,
    0,
    `a run stopped by SIGTERM should exit 0 once its jobs are settled; got ${result.code ?? result.signal}; stderr:\n${tail(result.stderr)}`,
  );

  const byStatus = await env.db.query<{ status: string; n: number }>("SELECT status, COUNT(*) AS n FROM job_queue GROUP BY status ORDER BY status");
  const counts = Object.fromEntries(byStatus.map((r) => [r.status, Number(r.n)]));
  assert.equal(counts.running ?? 0, 0, `nothing may be left running after a graceful stop: ${JSON.stringify(counts)}`);
  const started = linesOf(recordFile).length;
  assert.equal(counts.complete ?? 0, started, `every job that started should have finished: ${started} started, ${JSON.stringify(counts)}`);
  assert.equal((counts.pending ?? 0) + (counts.complete ?? 0), 12, `the rest should be pending again: ${JSON.stringify(counts)}`);
  const [{ burnt }] = (await env.db.query<{ burnt: number }>("SELECT COUNT(*) AS burnt FROM job_queue WHERE status = 'pending' AND attempts > 0")) as [
    { burnt: number },
  ];
  assert.equal(Number(burnt), 0, "claims given back unstarted must not count as attempts");
});

test(
  "SIGTERM with a short --grace: a long job is interrupted and goes back to pending, its subprocess killed, nothing left running",
  { timeout: 60_000 },
  async () => {
    const pidFile = path.join(env.dir, "grace.pids");
    const config = configWith("grace", {
      leaseSeconds: 5,
      paths: { writeRoots: [env.dir] },
      commands: {
        long: { argv: ["sh", "-c", 'sleep 3600 & echo "$$ $!" >> "$1"; wait', "long", "{pidfile}"], args: { pidfile: "write" }, timeoutSeconds: 600 },
      },
    });
    await env.db.query("DELETE FROM job_queue");
    const ref = await env.db.insertJob("command", { command: "long", args: { pidfile: pidFile } });

    const child = startCli(["run", "--grace", "1"], { config });
    const ended = collect(child, 40_000);
    await waitFor(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, "utf8").trim().split(/\s+/).length === 2, "the long command to start", 20_000);
    process.kill(child.pid!, "SIGTERM");
    const result = await ended;
    assert.equal(result.code, 0, `a run stopped by SIGTERM should exit 0; got ${result.code ?? result.signal}; stderr:\n${tail(result.stderr)}`);
    const row = await jobRow(ref);
    assert.deepEqual([row.status, row.attempts], ["pending", 0], `the interrupted job should be pending again with its attempt not counted; log:\n${row.log}`);
    const pids = fs.readFileSync(pidFile, "utf8").trim().split(/\s+/).map(Number);
    await waitFor(() => pids.every(isGone), `the interrupted job's processes (${pids.join(", ")}) to be gone`, 10_000);
  },
);
