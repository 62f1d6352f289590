import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { HostLocks } from "../../src/locks/host-locks.js";
import { runCli } from "../helpers/cli.js";
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
