import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { HostLocks } from "../../src/locks/host-locks.js";
import { collect, linesOf, runCli, startCli, waitFor } from "../helpers/cli.js";
import { hostConfig, useTestEnvironment } from "../helpers/environment.js";

let config: string;
const env = useTestEnvironment("oj-job-lock-", () => {
  config = hostConfig(env, "host-a", { leaseSeconds: 60, lockStaleSeconds: 10 }, "a");
});

test("a retry whose job lock another process on this host holds is put back, not run twice", { timeout: 30_000 }, async () => {
  const recordFile = path.join(env.dir, "runs.log");
  // attempts = 1: the next claim is a second attempt, which could have a live twin.
  await env.db.query("INSERT INTO job_queue (type, job_data, attempts) VALUES ('record', ?, 1)", [JSON.stringify({ file: recordFile })]);
  const locks = new HostLocks({ dir: path.join(env.dir, "locks-a"), staleMs: 10_000, host: "host-a" });
  await locks.prepare();
  const twin = await locks.lockJob(1);
  assert.ok(twin, "the test holds the job's lock, as a still-running earlier attempt would");

  const blocked = await runCli(["--once"], { config });
  assert.equal(blocked.code, 0, blocked.stderr);
  assert.match(blocked.stderr, /job 1: another process on this host holds its job lock; putting it back/);
  assert.equal(fs.existsSync(recordFile), false, "the job must not run while its lock is held");
  const [waiting] = await env.db.query<{ status: string; attempts: number }>("SELECT status, attempts FROM job_queue WHERE ref = 1");
  assert.deepEqual({ ...waiting }, { status: "pending", attempts: 1 }, "put back without counting an attempt");

  await twin!.release();
  await env.db.query("UPDATE job_queue SET run_after = NOW(3)");
  const free = await runCli(["--once"], { config });
  assert.equal(free.code, 0, free.stderr);
  const [done] = await env.db.query<{ status: string; attempts: number }>("SELECT status, attempts FROM job_queue WHERE ref = 1");
  assert.deepEqual({ ...done }, { status: "complete", attempts: 2 });
  assert.equal(fs.readFileSync(recordFile, "utf8").trim().split("\n").length, 1);
});

/** Every line says what happened and what to do: none stops at a colon with nothing after it. */
function assertNoDanglingColon(stderr: string): void {
  for (const line of stderr.split("\n").filter(Boolean)) {
    const message = line.startsWith("{") ? String((JSON.parse(line) as { msg?: unknown }).msg) : line;
    assert.doesNotMatch(message, /:\s*$/, `a message ends with a colon and no detail: ${JSON.stringify(message)}`);
  }
}

test("run --job on a job whose lock a live process on this host holds names that process and says what to do", { timeout: 30_000 }, async () => {
  const recordFile = path.join(env.dir, "held.runs");
  const ref = await env.db.insertJob("record", { file: recordFile });
  const locks = new HostLocks({ dir: path.join(env.dir, "locks-a"), staleMs: 10_000, host: "host-a" });
  await locks.prepare();
  const twin = await locks.lockJob(ref);
  assert.ok(twin, "the test holds the job's lock, as a live earlier attempt would");
  try {
    const run = await runCli(["--job", String(ref)], { config });
    assert.equal(run.code, 1, `run --job of a job it could not run exits 1; stderr:\n${run.stderr}`);
    assert.match(
      run.stderr,
      new RegExp(
        `job ${ref} was not run: process host-a:${process.pid} on this host still runs an earlier attempt of it .*run \`offline-jobs run --job ${ref}\` again in a few seconds`,
      ),
      `the refusal should name the live holder and say what to do; stderr:\n${run.stderr}`,
    );
    assertNoDanglingColon(run.stderr);
    assert.equal(fs.existsSync(recordFile), false, "the job must not run while a live process holds its lock");
    const [after] = await env.db.query<{ status: string }>("SELECT status FROM job_queue WHERE ref = ?", [ref]);
    assert.equal(after!.status, "pending", "the job is given back");
  } finally {
    await twin!.release();
  }
});

test("run --job on a cancelled job says there is nothing to run and how to run it again", { timeout: 30_000 }, async () => {
  const ref = await env.db.insertJob("record", { file: path.join(env.dir, "cancelled.runs") });
  assert.equal((await runCli(["cancel", String(ref)], { config })).code, 0);
  const run = await runCli(["--job", String(ref)], { config });
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    new RegExp(`job ${ref} was not run: it was cancelled; nothing to run \\(\`offline-jobs retry ${ref}\` runs it again\\)`),
    `stderr:\n${run.stderr}`,
  );
  assertNoDanglingColon(run.stderr);
});

test("run --job on a job cancelled while it runs says so, and how to run it again", { timeout: 30_000 }, async () => {
  // A short lease: the heartbeat that notices the cancel comes every third of it.
  const quick = hostConfig(env, "host-a", { leaseSeconds: 3 }, "quick");
  const recordFile = path.join(env.dir, "cancelled-running.runs");
  const ref = await env.db.insertJob("record", { file: recordFile, sleepMs: 60_000 });
  const running = startCli(["--job", String(ref)], { config: quick });
  const ended = collect(running, 25_000);
  await waitFor(() => linesOf(recordFile).length === 1, "the job to start");
  assert.equal((await runCli(["cancel", String(ref)], { config: quick })).code, 0);
  const run = await ended;
  assert.equal(run.code, 1, `stderr:\n${run.stderr}`);
  assert.match(
    run.stderr,
    new RegExp(`job ${ref} was cancelled while it ran; nothing more to run \\(\`offline-jobs retry ${ref}\` runs it again\\)`),
    `stderr:\n${run.stderr}`,
  );
  assertNoDanglingColon(run.stderr);
});
