import assert from "node:assert/strict";
import { test } from "node:test";
import { claimJobs, type ClaimOptions } from "../../src/queue/claim.js";
import { finishJobs } from "../../src/queue/finish.js";
import { recoverExpiredJobs, releaseJobs } from "../../src/queue/leases.js";
import { recordStarts } from "../../src/queue/record-starts.js";
import { ensureTypeSlots } from "../../src/queue/type-slots.js";
import { useTestDatabase } from "../helpers/database.js";

/**
 * An attempt is counted when its job starts, not when it is claimed ahead of the slots
 * (src/runner/loop/start-marks.ts): the claim ahead leaves attempts alone and clears
 * started_at, the start or the outcome counts it once, and recovery gives a job whose start
 * was never recorded back without counting.
 */

const t = useTestDatabase({ emptyBeforeEach: true });

const options = (overrides: Partial<ClaimOptions> = {}): ClaimOptions => ({
  types: ["noop"],
  limits: {},
  max: 10,
  workerId: "host-a:1",
  leaseSeconds: 60,
  ...overrides,
});
const claimed = async (o: ClaimOptions) => (await claimJobs(t.db, o)).jobs;
const policy = { maxAttempts: () => 3, onLost: () => "retry" as const };

async function state(ref: number) {
  const [row] = await t.query<{ status: string; attempts: number; started: number; log: string | null }>(
    "SELECT status, attempts, started_at IS NOT NULL AS started, log FROM job_queue WHERE ref = ?",
    [ref],
  );
  return { status: row!.status, attempts: row!.attempts, started: Number(row!.started) === 1, log: row!.log };
}

test("a claim for free slots counts the attempt; a claim ahead does not, and says so with started_at NULL", async () => {
  const counted = await t.insertJob("noop", {}, { attempts: 1, started_at: "2020-01-01 00:00:00" });
  const [now] = await claimed(options({ max: 1 }));
  assert.equal(now!.attempt, 2);
  assert.equal(now!.counted, true);
  assert.deepEqual(await state(counted), { status: "running", attempts: 2, started: true, log: null });

  const ahead = await t.insertJob("noop", {}, { attempts: 1, started_at: "2020-01-01 00:00:00" });
  const [buffered] = await claimed(options({ ahead: true }));
  assert.equal(buffered!.attempt, 2, "the attempt it will be once it starts");
  assert.equal(buffered!.counted, false);
  assert.deepEqual(await state(ahead), { status: "running", attempts: 1, started: false, log: null }, "claimed ahead: not counted, no start");
});

test("the limited types' claim (a transaction) counts the same way", async () => {
  const ref = await t.insertJob("noop", {});
  await ensureTypeSlots(t.db, ["noop"]);
  const [job] = await claimed(options({ limits: { noop: 2 }, ahead: true }));
  assert.equal(job!.attempt, 1);
  assert.equal(job!.counted, false);
  assert.deepEqual(await state(ref), { status: "running", attempts: 0, started: false, log: null });
});

test("a start is counted once, whether its record or its outcome comes first, and a give-back uncounts only what was counted", async () => {
  const [a, b, c, d] = [await t.insertJob("noop", {}), await t.insertJob("noop", {}), await t.insertJob("noop", {}), await t.insertJob("noop", {})];
  const jobs = await claimed(options({ ahead: true }));
  const byRef = new Map(jobs.map((j) => [j.ref, j]));
  await recordStarts(t.db, [byRef.get(a!)!, byRef.get(c!)!]);
  await recordStarts(t.db, [byRef.get(a!)!]);
  assert.deepEqual(await state(a!), { status: "running", attempts: 1, started: true, log: null }, "recorded twice, counted once");
  const done = (ref: number) => ({ kind: "complete" as const, ref, token: byRef.get(ref)!.token, result: "{}", log: "" });
  assert.deepEqual(await finishJobs(t.db, [done(a!), done(b!)], 65536), []);
  assert.equal((await state(a!)).attempts, 1, "an outcome after the start's record does not count again");
  assert.deepEqual(await state(b!), { status: "complete", attempts: 1, started: true, log: "" }, "an outcome with no start recorded counts it");
  assert.equal(await releaseJobs(t.db, [byRef.get(c!)!, byRef.get(d!)!]), 2);
  assert.equal((await state(c!)).attempts, 0, "started, then given back: the count is undone");
  assert.equal((await state(d!)).attempts, 0, "never started, given back: nothing to undo");
});

test("a stale claimer cannot count an attempt on a row another claim holds now (fencing)", async () => {
  const ref = await t.insertJob("noop", {});
  const [stale] = await claimed(options({ ahead: true }));
  await t.query("UPDATE job_queue SET lease_until = NOW(3) - INTERVAL 1 SECOND");
  await recoverExpiredJobs(t.db, policy);
  const [fresh] = await claimed(options({ workerId: "host-b:2", ahead: true }));
  await recordStarts(t.db, [stale!]);
  const after = await state(ref);
  assert.deepEqual([after.attempts, after.started], [0, false], "the stale token counts nothing");
  await recordStarts(t.db, [fresh!]);
  assert.equal((await state(ref)).attempts, 1);
});

test("recovery gives a job whose start was never recorded back without counting, whatever its attempts and onLost say", async () => {
  const unstarted = await t.insertJob("noop", {}, { attempts: 3, max_attempts: 3 });
  await claimed(options({ ahead: true }));
  const started = await t.insertJob("noop", {}, { attempts: 2, max_attempts: 3 });
  await claimed(options({ ahead: true }));
  await t.query("UPDATE job_queue SET started_at = NOW(3), attempts = 3 WHERE ref = ?", [started]);
  await t.query("UPDATE job_queue SET lease_until = NOW(3) - INTERVAL 1 SECOND");
  const recovered = await recoverExpiredJobs(t.db, { maxAttempts: () => 3, onLost: () => "fail" });
  assert.deepEqual(recovered.requeued, [unstarted], "only the unstarted job goes back to pending");
  assert.deepEqual(recovered.unstarted, [unstarted]);
  assert.deepEqual(
    recovered.failed.map((f) => f.ref),
    [started],
    "a started job whose attempts are used up fails as lost",
  );
  const back = await state(unstarted);
  assert.equal(back.status, "pending");
  assert.equal(back.attempts, 3, "its attempts are as they were before the claim");
  assert.match(back.log ?? "", /claimed by host-a:1, whose lease expired with no start of it recorded; re-queued, no attempt counted/);
});

test("an outcome does not overflow attempts the application set to the column's maximum meanwhile, nor fail the others' write", async () => {
  const [a, b] = [await t.insertJob("noop", {}), await t.insertJob("noop", {})];
  const jobs = await claimed(options({ ahead: true }));
  await t.query("UPDATE job_queue SET attempts = 65535 WHERE ref = ?", [a]);
  const outcomes = jobs.map((j) => ({ kind: "complete" as const, ref: j.ref, token: j.token, result: "{}", log: "" }));
  assert.deepEqual(await finishJobs(t.db, outcomes, 65536), []);
  assert.deepEqual(await state(a!), { status: "complete", attempts: 65535, started: true, log: "" });
  assert.deepEqual(await state(b!), { status: "complete", attempts: 1, started: true, log: "" });
});

test("a start recorded after the job began keeps the instant it began, not the instant of the write", async () => {
  const [a, b, c] = [await t.insertJob("noop", {}), await t.insertJob("noop", {}), await t.insertJob("noop", {})];
  const jobs = await claimed(options({ ahead: true }));
  const byRef = new Map(jobs.map((j) => [j.ref, j]));
  const now = Date.now();
  // Recorded by the gathered write: 800 ms after it began.
  await recordStarts(t.db, [{ ...byRef.get(a!)!, startedAt: now - 800 }]);
  // Recorded by the outcomes' write: two different starts in one statement.
  const done = (ref: number, startedAt: number) => ({ kind: "complete" as const, ref, token: byRef.get(ref)!.token, startedAt, result: "{}", log: "" });
  assert.deepEqual(await finishJobs(t.db, [done(b!, now - 300), done(c!, now - 1500)], 65536), []);
  const ages = await t.query<{ ref: number; age: number }>(
    "SELECT ref, TIMESTAMPDIFF(MICROSECOND, started_at, NOW(3)) / 1000 AS age FROM job_queue ORDER BY ref",
  );
  const expected = new Map([
    [a!, 800],
    [b!, 300],
    [c!, 1500],
  ]);
  for (const row of ages) {
    const want = expected.get(Number(row.ref))!;
    const age = Number(row.age);
    assert.ok(age >= want - 5 && age < want + 250, `job ${row.ref} started ${want} ms ago by this process's clock, but started_at says ${age} ms`);
  }
  assert.deepEqual(
    (await Promise.all([a!, b!, c!].map(state))).map((s) => s.attempts),
    [1, 1, 1],
    "each start counted once",
  );
});

test("an outcome written after its job ended records the instant it ended as finished_at; a retry keeps the row's finished_at", async () => {
  const [a, b, r] = [await t.insertJob("noop", {}), await t.insertJob("noop", {}), await t.insertJob("noop", {})];
  await t.query("UPDATE job_queue SET finished_at = '2020-01-01 00:00:00' WHERE ref = ?", [r]);
  const jobs = await claimed(options());
  const byRef = new Map(jobs.map((j) => [j.ref, j]));
  const now = Date.now();
  const outcome = (ref: number) => ({ ref, token: byRef.get(ref)!.token, log: "" });
  assert.deepEqual(
    await finishJobs(
      t.db,
      [
        { ...outcome(a!), kind: "complete", result: "{}", endedAt: now - 600 },
        { ...outcome(b!), kind: "failed", result: null, error: "no", endedAt: now - 40 },
        { ...outcome(r!), kind: "retry", error: "again", delaySeconds: 0, endedAt: now - 40 },
      ],
      65536,
    ),
    [],
  );
  const rows = await t.query<{ ref: number; age: number | null; kept: number }>(
    "SELECT ref, TIMESTAMPDIFF(MICROSECOND, finished_at, NOW(3)) / 1000 AS age, finished_at = '2020-01-01 00:00:00' AS kept FROM job_queue ORDER BY ref",
  );
  const byRow = new Map(rows.map((row) => [Number(row.ref), row]));
  for (const [ref, want] of [
    [a!, 600],
    [b!, 40],
  ] as const) {
    const age = Number(byRow.get(ref)!.age);
    assert.ok(age >= want - 5 && age < want + 250, `job ${ref} ended ${want} ms ago by this process's clock, but finished_at says ${age} ms`);
  }
  assert.equal(Number(byRow.get(r!)!.kept), 1, "a retry goes back to pending with the finished_at it had");
});
