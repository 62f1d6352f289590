import assert from "node:assert/strict";
import { test } from "node:test";
import { claimInTransaction, claimJobs, type ClaimOptions } from "../../src/queue/claim.js";
import { ClaimCursor, CURSOR_MAX_AGE_MS } from "../../src/queue/claim-cursor.js";
import { finishJobs } from "../../src/queue/finish.js";
import { useTestDatabase } from "../helpers/database.js";

const t = useTestDatabase({ emptyBeforeEach: true });

/** A clock the test moves by hand, so that the cursor's age is exact. */
function manualClock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const options = (cursor: ClaimCursor, max: number): ClaimOptions => ({ types: ["noop"], limits: {}, max, workerId: "host-a:1", leaseSeconds: 60, cursor });

async function insertNoops(count: number, priority = 2): Promise<number[]> {
  await t.query("INSERT INTO job_queue (type, job_data, priority) VALUES ?", [Array.from({ length: count }, () => ["noop", "{}", priority])]);
  const rows = await t.query<{ ref: number }>("SELECT ref FROM job_queue ORDER BY ref DESC LIMIT ?", [count]);
  return rows.map((r) => Number(r.ref)).reverse();
}

const refs = (jobs: Array<{ ref: number }>) => jobs.map((j) => j.ref);

test("a cursor claim starts where the previous claim of this process ended", async () => {
  const clock = manualClock();
  const cursor = new ClaimCursor(clock.now);
  const queued = await insertNoops(6);
  assert.equal(cursor.condition(), undefined, "a new cursor must claim from the head");
  const first = (await claimJobs(t.db, options(cursor, 2))).jobs;
  assert.deepEqual(refs(first), queued.slice(0, 2));
  assert.ok(cursor.condition(), "after a claim, the next claim must start from the cursor");
  // Put the first two back: they are due again, but behind the cursor.
  await t.query("UPDATE job_queue SET status = 'pending' WHERE ref IN (?)", [refs(first)]);
  const second = (await claimJobs(t.db, options(cursor, 2))).jobs;
  assert.deepEqual(refs(second), queued.slice(2, 4), "a cursor claim must go on after the previous claim's last job");
});

test("rows due again behind the cursor are claimed once the cursor is older than its limit", async () => {
  const clock = manualClock();
  const cursor = new ClaimCursor(clock.now);
  const queued = await insertNoops(6);
  const first = (await claimJobs(t.db, options(cursor, 2))).jobs;
  await t.query("UPDATE job_queue SET status = 'pending' WHERE ref IN (?)", [refs(first)]);
  clock.advance(CURSOR_MAX_AGE_MS + 1);
  const again = (await claimJobs(t.db, options(cursor, 2))).jobs;
  assert.deepEqual(refs(again), queued.slice(0, 2), "after CURSOR_MAX_AGE_MS the claim must look from the head again");
});

test("a cursor claim that comes back short is topped up from the head, in claim order", async () => {
  const clock = manualClock();
  const cursor = new ClaimCursor(clock.now);
  const queued = await insertNoops(4);
  const first = (await claimJobs(t.db, options(cursor, 3))).jobs;
  assert.deepEqual(refs(first), queued.slice(0, 3));
  // A retry of the first job became due behind the cursor; only one job is left ahead of it.
  await t.query("UPDATE job_queue SET status = 'pending' WHERE ref = ?", [queued[0]]);
  const next = (await claimJobs(t.db, options(cursor, 3))).jobs;
  assert.deepEqual(refs(next), [queued[0], queued[3]], "the short cursor claim must be followed by a claim from the head");
  const empty = (await claimJobs(t.db, options(cursor, 3))).jobs;
  assert.deepEqual(empty, [], "an empty queue must be concluded from a head claim, and be empty");
});

test("a job of a higher priority added behind the cursor waits at most the cursor's age limit", async () => {
  const clock = manualClock();
  const cursor = new ClaimCursor(clock.now);
  await insertNoops(10, 5);
  await claimJobs(t.db, options(cursor, 2));
  const [urgent] = await insertNoops(1, 1);
  await claimJobs(t.db, options(cursor, 2)); // within the cursor's age, it may wait
  clock.advance(CURSOR_MAX_AGE_MS + 1);
  const next = (await claimJobs(t.db, options(cursor, 2))).jobs;
  assert.equal(next[0]?.ref, urgent, "once the cursor is too old, the higher-priority job must be claimed first");
});

test("claims through a cursor still return each job once, with its attempt, and can be finished", async () => {
  const cursor = new ClaimCursor();
  const queued = await insertNoops(50);
  const seen: number[] = [];
  for (;;) {
    const jobs = (await claimJobs(t.db, options(cursor, 7))).jobs;
    if (jobs.length === 0) break;
    for (const job of jobs) assert.equal(job.attempt, 1, `job ${job.ref}: a first claim is attempt 1`);
    seen.push(...refs(jobs));
    const fenced = await finishJobs(
      t.db,
      jobs.map((j) => ({ kind: "complete", ref: j.ref, token: j.token, result: "{}", log: "" })),
      1000,
    );
    assert.deepEqual(fenced, []);
  }
  assert.deepEqual(seen, queued, "every job must be claimed exactly once, in order");
  const [left] = await t.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status <> 'complete'");
  assert.equal(Number(left!.n), 0);
});

test("the claim in an explicit transaction (limited types, or a server refusing the one-statement claim) takes the same jobs in the same order", async () => {
  const queued = await insertNoops(5);
  const first = await claimInTransaction(t.db, { types: ["noop"], limits: {}, max: 3, workerId: "host-a:1", leaseSeconds: 60 });
  assert.deepEqual(refs(first.jobs), queued.slice(0, 3));
  const next = await claimJobs(t.db, options(new ClaimCursor(), 5));
  assert.deepEqual(refs(next.jobs), queued.slice(3), "the one-statement claim must go on with the jobs the transaction left");
  for (const job of [...first.jobs, ...next.jobs]) assert.equal(job.attempt, 1, `job ${job.ref}: attempt`);
});
