import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { collect, killTree, linesOf, runCli, sleep, startCli, waitFor } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * An attempt is counted when its job starts (src/runner/loop/start-marks.ts): a job a run
 * claimed ahead of its slots and never started is not charged for its claimer's death. With
 * maxAttempts 1 the difference is stark: counted at the claim, every job buffered in a killed
 * run would fail as "worker lost" without having run once.
 */

const env = useTestEnvironment("oj-ahead-");
const LEASE_SECONDS = 2;

test("a job claimed ahead by a process that was SIGKILLed before starting it gets its attempt back", { timeout: 60_000 }, async () => {
  const config = hostConfig(env, "host-a", { leaseSeconds: LEASE_SECONDS, types: { record: { maxAttempts: 1 } } });
  const recordFile = path.join(env.dir, "runs.txt");
  // Short jobs first, so that the run knows its jobs are short and claims ahead; then one long
  // job that holds the only slot, while the jobs behind it wait in the run's buffer.
  const short = [];
  for (let i = 0; i < 6; i++) short.push(await env.db.insertJob("record", { file: recordFile }));
  const long = await env.db.insertJob("record", { file: recordFile, sleepMs: 60_000 });
  const behind: number[] = [];
  for (let i = 0; i < 6; i++) behind.push(await env.db.insertJob("record", { file: recordFile }));

  const child = startCli(["run", "--max-jobs", "1"], { config });
  const result = collect(child, 60_000);
  const holder = `host-a:${child.pid}`;
  const buffered = await waitFor(
    async () => {
      // The long job's start is recorded a moment after it starts (at most ~20 ms): wait for that too.
      const [longRow] = await env.db.query<{ started: number }>("SELECT started_at IS NOT NULL AS started FROM job_queue WHERE ref = ?", [long]);
      if (Number(longRow!.started) !== 1) return undefined;
      const rows = await env.db.query<{ ref: number; attempts: number; started: number }>(
        "SELECT ref, attempts, started_at IS NOT NULL AS started FROM job_queue WHERE status = 'running' AND locked_by = ? AND ref IN (?)",
        [holder, behind],
      );
      return rows.length > 0 ? rows : undefined;
    },
    "the long job to start with jobs claimed behind it",
    20_000,
  );
  killTree(child, "SIGKILL");
  assert.equal((await result).signal, "SIGKILL");

  const ran = linesOf(recordFile).map((line) => Number(line.split(" ")[0]));
  const unstarted = buffered.map((row) => Number(row.ref)).filter((ref) => !ran.includes(ref));
  assert.ok(unstarted.length > 0, `some job behind the long one should have been claimed and not started; claimed: ${JSON.stringify(buffered)}`);
  const charged = await env.db.query<{ ref: number; attempts: number; started: number }>(
    "SELECT ref, attempts, started_at IS NOT NULL AS started FROM job_queue WHERE ref IN (?)",
    [unstarted],
  );
  assert.deepEqual(
    charged.map((row) => [Number(row.ref), row.attempts, Number(row.started)]),
    unstarted.map((ref) => [ref, 0, 0]),
    "a job claimed ahead and not started must have no attempt counted and no start recorded",
  );

  // Once the lease has expired, the next run recovers what the killed one held.
  await waitFor(
    async () => (await env.db.query("SELECT ref FROM job_queue WHERE locked_by = ? AND lease_until < NOW(3)", [holder])).length > 0,
    "the killed run's leases to expire",
    LEASE_SECONDS * 1000 + 10_000,
  );
  await sleep(2_300); // its slot lock goes stale too (lockStaleSeconds 2)
  const next = await runCli(["run", "--max-jobs", "1"], { config, timeoutMs: 30_000 });
  assert.equal(next.code, 0, `the next run should exit 0:\n${tail(next.stderr)}`);

  const rows = await env.db.query<{ ref: number; status: string; attempts: number; error: string | null; log: string | null }>(
    "SELECT ref, status, attempts, error, log FROM job_queue ORDER BY ref",
  );
  const byRef = new Map(rows.map((row) => [Number(row.ref), row]));
  for (const ref of unstarted) {
    const row = byRef.get(ref)!;
    assert.deepEqual([row.status, row.attempts, row.error], ["complete", 1, null], `job ${ref}, claimed ahead and never started, must run once and complete`);
    assert.match(row.log ?? "", /claimed by host-a:\d+, whose lease expired with no start of it recorded; re-queued, no attempt counted/);
  }
  // The long job did start: its one attempt was used, as it should be.
  const lost = byRef.get(long)!;
  assert.deepEqual([lost.status, lost.attempts, lost.error], ["failed", 1, "worker lost: lease expired"], "the job that was running when its run was killed");
  const runs = linesOf(recordFile).map((line) => Number(line.split(" ")[0]));
  for (const ref of [...short, ...behind]) assert.equal(runs.filter((r) => r === ref).length, 1, `job ${ref} must have run exactly once`);
});
