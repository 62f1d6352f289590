import assert from "node:assert/strict";
import { test } from "node:test";
import { recoverExpiredJobs } from "../../src/queue/leases.js";
import { useTestDatabase } from "../helpers/database.js";

/**
 * A row inserted as `running` that no process holds (no lease, or a lease further ahead than
 * any runner grants) must be recovered like an expired one, or it holds its job_code for ever;
 * a lease a runner could have granted is left alone.
 */

const t = useTestDatabase({ emptyBeforeEach: true });

const LEASE = 60;
const policy = { maxAttempts: () => 3, onLost: () => "retry" as const, maxLeaseSeconds: 10 * LEASE };

async function running(code: string, lease: string | null): Promise<number> {
  const ref = await t.insertJob("noop", {}, { status: "running", job_code: code, locked_by: "nobody:1" });
  if (lease !== null) await t.query(`UPDATE job_queue SET lease_until = ${lease} WHERE ref = ?`, [ref]);
  return ref;
}

test("running rows with no lease, or a lease beyond ten leases ahead, are recovered and free their job_code; a plausible lease is not", async () => {
  const noLease = await running("a", null);
  const forever = await running("b", "'9999-12-31 23:59:59.999'");
  const farAhead = await running("c", `NOW(3) + INTERVAL ${20 * LEASE} SECOND`);
  const live = await running("d", `NOW(3) + INTERVAL ${5 * LEASE} SECOND`);
  const { requeued, failed } = await recoverExpiredJobs(t.db, policy);
  assert.deepEqual(
    [...requeued].sort((a, b) => a - b),
    [noLease, forever, farAhead],
    "the three unheld rows must be re-queued",
  );
  assert.deepEqual(failed, []);
  const rows = await t.query<{ ref: number; status: string; lease_until: string | null }>("SELECT ref, status, lease_until FROM job_queue ORDER BY ref");
  assert.deepEqual(
    rows.map((row) => [Number(row.ref), row.status, row.lease_until === null]),
    [
      [noLease, "pending", true],
      [forever, "pending", true],
      [farAhead, "pending", true],
      [live, "running", false],
    ],
  );
  // Their codes are free for a new job once they end; the live one's is still held.
  await t.query("UPDATE job_queue SET status = 'complete' WHERE ref IN (?)", [[noLease, forever, farAhead]]);
  for (const code of ["a", "b", "c"]) await t.insertJob("noop", {}, { job_code: code });
  await assert.rejects(t.insertJob("noop", {}, { job_code: "d" }), /Duplicate/, "the live row must still hold its job_code");
});
