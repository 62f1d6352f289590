import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { HostLocks } from "../../src/locks/host-locks.js";
import { makeTempDir, RECORD_HANDLER, runCli, writeConfig } from "../helpers/cli.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

let t: TestDatabase;
let dir: string;
let config: string;
before(async () => {
  t = await createTestDatabase();
  dir = makeTempDir();
  config = writeConfig(dir, { database: { url: t.url }, hostName: "host-a", lockDir: path.join(dir, "locks"), handlers: [RECORD_HANDLER] });
});
after(async () => {
  await t.drop();
});

test("a retry whose job lock another process on this host holds is put back, not run twice", { timeout: 30_000 }, async () => {
  const recordFile = path.join(dir, "runs.log");
  // attempts = 1: the next claim is a second attempt, which could have a live twin.
  await t.query("INSERT INTO job_queue (type, job_data, attempts) VALUES ('record', ?, 1)", [JSON.stringify({ file: recordFile })]);
  const locks = new HostLocks({ dir: path.join(dir, "locks"), staleMs: 10_000, host: "host-a" });
  await locks.prepare();
  const twin = await locks.lockJob(1);
  assert.ok(twin, "the test holds the job's lock, as a still-running earlier attempt would");

  const blocked = await runCli(["--once"], { config });
  assert.equal(blocked.code, 0, blocked.stderr);
  assert.match(blocked.stderr, /job 1: another process on this host holds its job lock; putting it back/);
  assert.equal(fs.existsSync(recordFile), false, "the job must not run while its lock is held");
  const [waiting] = await t.query<{ status: string; attempts: number }>("SELECT status, attempts FROM job_queue WHERE ref = 1");
  assert.deepEqual({ ...waiting }, { status: "pending", attempts: 1 }, "put back without counting an attempt");

  await twin!.release();
  await t.query("UPDATE job_queue SET run_after = NOW(3)");
  const free = await runCli(["--once"], { config });
  assert.equal(free.code, 0, free.stderr);
  const [done] = await t.query<{ status: string; attempts: number }>("SELECT status, attempts FROM job_queue WHERE ref = 1");
  assert.deepEqual({ ...done }, { status: "complete", attempts: 2 });
  assert.equal(fs.readFileSync(recordFile, "utf8").trim().split("\n").length, 1);
});
