import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../src/errors.js";
import { CLOSED_HOURS_SECONDS } from "../../src/queue/overview-chart.js";
import { DURATION_SAMPLE, readOverview } from "../../src/queue/overview.js";
import { useTestDatabase } from "../helpers/database.js";

/**
 * The overview: capped counts by type × status, the oldest due job's wait, jobs stuck past
 * their lease, the 24-hour chart by finished_at and the durations' p50/p95, all by the
 * server's clock and within the scope.
 */

const t = useTestDatabase({ emptyBeforeEach: true });

/** Inserts a row whose times are SQL expressions on the server's NOW(3). */
async function insertAt(columns: Record<string, unknown>, times: Record<string, string> = {}): Promise<void> {
  columns = { type: "noop", ...columns };
  const names = [...Object.keys(columns), ...Object.keys(times)];
  const values = [...Object.keys(columns).map(() => "?"), ...Object.values(times)];
  await t.query(`INSERT INTO job_queue (${names.join(", ")}) VALUES (${values.join(", ")})`, Object.values(columns));
}

test("counts by type and status, each capped", async () => {
  for (let i = 0; i < 5; i++) await insertAt({ type: "preview", status: "complete", user: "alice" });
  await insertAt({ type: "preview", status: "failed", user: "bob" });
  await insertAt({ type: "zip", status: "pending", user: "alice" });
  const overview = await readOverview(t.db, {}, { countCap: 3, freshChart: true });
  assert.deepEqual(overview.counts, [
    { type: "preview", status: "complete", count: 3, capped: true },
    { type: "preview", status: "failed", count: 1, capped: false },
    { type: "zip", status: "pending", count: 1, capped: false },
  ]);
  const bobs = await readOverview(t.db, { owner: "bob" }, { countCap: 3, freshChart: true });
  assert.deepEqual(bobs.counts, [{ type: "preview", status: "failed", count: 1, capped: false }], "bob sees only his own");
  await assert.rejects(readOverview(t.db, {}, { countCap: 0, freshChart: true }), UsageError);
});

test("the oldest due job's wait counts from max(run_after, created_at); stuck running jobs are those nobody holds", async () => {
  await insertAt({ status: "pending", user: "alice" }, { created_at: "NOW(3) - INTERVAL 100 SECOND", run_after: "NOW(3) - INTERVAL 500 SECOND" });
  await insertAt({ status: "pending", user: "bob" }, { created_at: "NOW(3) - INTERVAL 900 SECOND", run_after: "NOW(3) - INTERVAL 300 SECOND" });
  await insertAt({ status: "pending", user: "bob" }, { created_at: "NOW(3) - INTERVAL 5000 SECOND", run_after: "NOW(3) + INTERVAL 1 HOUR" });
  await insertAt({ status: "running", user: "alice" }, { lease_until: "NOW(3) - INTERVAL 1 SECOND" });
  await insertAt({ status: "running", user: "bob" }, { lease_until: "NULL" });
  await insertAt({ status: "running", user: "bob" }, { lease_until: "NOW(3) + INTERVAL 1 MINUTE" });
  const all = await readOverview(t.db, {}, { countCap: 100, freshChart: true });
  assert.ok(
    all.oldestDueWaitSeconds! >= 300 && all.oldestDueWaitSeconds! < 310,
    `bob's due job has waited 300 s since run_after, got ${all.oldestDueWaitSeconds}`,
  );
  assert.equal(all.stuckRunning, 2);
  const alice = await readOverview(t.db, { owner: "alice" }, { countCap: 100, freshChart: true });
  assert.ok(
    alice.oldestDueWaitSeconds! >= 100 && alice.oldestDueWaitSeconds! < 110,
    `alice's has waited 100 s since it was created, got ${alice.oldestDueWaitSeconds}`,
  );
  assert.equal(alice.stuckRunning, 1);
  const nobody = await readOverview(t.db, { owner: "carol" }, { countCap: 100, freshChart: true });
  assert.equal(nobody.oldestDueWaitSeconds, null);
  assert.equal(nobody.stuckRunning, 0);
  assert.deepEqual(nobody.counts, []);
});

test("the chart has 24 hours of the server's clock, oldest first, counting complete and failed by finished_at", async () => {
  const [now] = await t.query<{ hour: string; before: string }>(
    "SELECT DATE_FORMAT(NOW(), '%Y-%m-%d %H:00') AS hour, DATE_FORMAT(NOW() - INTERVAL 23 HOUR, '%Y-%m-%d %H:00') AS first",
  );
  // Far enough from the hour's edges that the test's own seconds cannot move a row across one.
  await insertAt({ status: "complete", user: "alice" }, { finished_at: "DATE_FORMAT(NOW(3), '%Y-%m-%d %H:00:00') + INTERVAL 1 SECOND - INTERVAL 2 HOUR" });
  await insertAt({ status: "complete", user: "bob" }, { finished_at: "DATE_FORMAT(NOW(3), '%Y-%m-%d %H:00:00') + INTERVAL 1 SECOND - INTERVAL 2 HOUR" });
  await insertAt({ status: "failed", user: "bob" }, { finished_at: "DATE_FORMAT(NOW(3), '%Y-%m-%d %H:00:00')" });
  await insertAt({ status: "complete", user: "bob" }, { finished_at: "DATE_FORMAT(NOW(3), '%Y-%m-%d %H:00:00') - INTERVAL 23 HOUR" });
  await insertAt({ status: "complete", user: "bob" }, { finished_at: "DATE_FORMAT(NOW(3), '%Y-%m-%d %H:00:00') - INTERVAL 23 HOUR - INTERVAL 1 SECOND" });
  await insertAt({ status: "cancelled", user: "bob" }, { finished_at: "NOW(3)" });
  const { hours } = await readOverview(t.db, {}, { countCap: 100, freshChart: true });
  assert.equal(hours.length, 24);
  assert.equal(hours[23]!.hour, now!.hour, "the last entry is the current hour");
  assert.equal(hours[0]!.hour, (now as unknown as { first: string }).first);
  assert.deepEqual(hours[23], { hour: now!.hour, complete: 0, failed: 1 });
  assert.deepEqual({ complete: hours[21]!.complete, failed: hours[21]!.failed }, { complete: 2, failed: 0 });
  assert.deepEqual(
    { complete: hours[0]!.complete, failed: hours[0]!.failed },
    { complete: 1, failed: 0 },
    "a job finished just before the first hour is left out",
  );
  assert.equal(
    hours.reduce((sum, h) => sum + h.complete + h.failed, 0),
    4,
  );
  const alice = await readOverview(t.db, { owner: "alice" }, { countCap: 100, freshChart: true });
  assert.equal(
    alice.hours.reduce((sum, h) => sum + h.complete + h.failed, 0),
    1,
    "alice's chart counts her job only",
  );
});

test("durations per type over the last 24 hours: p50 and p95 of finished_at - started_at", async () => {
  for (let seconds = 1; seconds <= 100; seconds++) {
    await insertAt(
      { type: "preview", status: seconds % 10 ? "complete" : "failed", user: seconds <= 10 ? "alice" : "bob" },
      { started_at: `NOW(3) - INTERVAL ${seconds + 60} SECOND`, finished_at: "NOW(3) - INTERVAL 60 SECOND" },
    );
  }
  await insertAt({ type: "zip", status: "complete" }, { started_at: "NOW(3) - INTERVAL 2.5 SECOND", finished_at: "NOW(3)" });
  await insertAt({ type: "zip", status: "complete" }, { started_at: "NOW(3) - INTERVAL 2 DAY", finished_at: "NOW(3) - INTERVAL 25 HOUR" });
  await insertAt({ type: "zip", status: "cancelled" }, { started_at: "NOW(3) - INTERVAL 1000 SECOND", finished_at: "NOW(3)" });
  const { durations } = await readOverview(t.db, {}, { countCap: 100, freshChart: true });
  assert.deepEqual(durations, [
    { type: "preview", count: 100, capped: false, p50Seconds: 50.5, p95Seconds: 95.05 },
    { type: "zip", count: 1, capped: false, p50Seconds: 2.5, p95Seconds: 2.5 },
  ]);
  const alice = await readOverview(t.db, { owner: "alice" }, { countCap: 100, freshChart: true });
  assert.deepEqual(alice.durations, [{ type: "preview", count: 10, capped: false, p50Seconds: 5.5, p95Seconds: 9.55 }]);
});

test("durations take the newest DURATION_SAMPLE finished jobs of a type, complete and failed merged, however many finished that day", async () => {
  // The newest DURATION_SAMPLE (one every second, complete and failed by turns) took 1 s each; 200 older ones took 1,000 s.
  await t.query(
    `INSERT INTO job_queue (type, status, started_at, finished_at)
     SELECT 'zip', IF(seq % 2, 'complete', 'failed'), NOW(3) - INTERVAL seq SECOND - INTERVAL IF(seq <= ?, 1, 1000) SECOND, NOW(3) - INTERVAL seq SECOND
       FROM seq_1_to_${DURATION_SAMPLE + 200}`,
    [DURATION_SAMPLE],
  );
  const { durations } = await readOverview(t.db, {}, { countCap: 10_000, freshChart: true });
  assert.deepEqual(durations, [{ type: "zip", count: DURATION_SAMPLE, capped: true, p50Seconds: 1, p95Seconds: 1 }]);
  await t.query("DELETE FROM job_queue WHERE TIMESTAMPDIFF(SECOND, started_at, finished_at) > 100");
  const exact = await readOverview(t.db, {}, { countCap: 10_000, freshChart: true });
  assert.deepEqual(
    exact.durations,
    [{ type: "zip", count: DURATION_SAMPLE, capped: false, p50Seconds: 1, p95Seconds: 1 }],
    "exactly DURATION_SAMPLE is not capped",
  );
});

test("a refresh within a minute reads only the current hour: closed hours come from the last read, unless asked fresh", async () => {
  const read = (fresh: boolean) => readOverview(t.db, { owner: "carol" }, { countCap: 100, freshChart: fresh });
  await read(true);
  await insertAt({ status: "complete", user: "carol" }, { finished_at: "DATE_FORMAT(NOW(3), '%Y-%m-%d %H:00:00') + INTERVAL 1 SECOND - INTERVAL 2 HOUR" });
  await insertAt({ status: "failed", user: "carol" }, { finished_at: "NOW(3)" });
  const kept = await read(false);
  assert.equal(kept.hours[21]!.complete, 0, `a closed hour's count is the one read ${CLOSED_HOURS_SECONDS} s ago at most`);
  assert.equal(kept.hours[23]!.failed, 1, "the current hour is read every time");
  const fresh = await read(true);
  assert.equal(fresh.hours[21]!.complete, 1, "a fresh read counts every hour");
  assert.equal((await read(false)).hours[21]!.complete, 1, "and keeps what it read");
});
