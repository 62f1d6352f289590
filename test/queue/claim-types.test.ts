import assert from "node:assert/strict";
import { test } from "node:test";
import { claimInTransaction, claimJobs, type ClaimOptions } from "../../src/queue/claim.js";
import { ensureTypeSlots } from "../../src/queue/type-slots.js";
import { useTestDatabase } from "../helpers/database.js";

/**
 * The type column's collation (utf8mb4_unicode_ci) calls `NOOP`, `noop ` (trailing space) and
 * a full-width `ｎｏｏｐ` equal to `noop`. A claim must not: it compares types exactly, so such
 * rows stay pending like any type this process has no handler for.
 */

const t = useTestDatabase({ emptyBeforeEach: true });

const LOOKALIKES = ["NOOP", "noop ", "Noop", "ｎｏｏｐ", "nöop"];

const options = (overrides: Partial<ClaimOptions> = {}): ClaimOptions => ({
  types: ["noop"],
  limits: {},
  max: 20,
  workerId: "host-a:1",
  leaseSeconds: 60,
  ...overrides,
});

async function queueLookalikes(): Promise<number> {
  for (const type of LOOKALIKES) await t.query("INSERT INTO job_queue (type, job_data) VALUES (?, '{}')", [type]);
  const real = await t.insertJob("noop", {});
  const [collated] = await t.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE type = 'noop'");
  assert.ok(Number(collated!.n) > 2, "the column's collation should call several lookalikes equal to noop, or this test proves nothing");
  return real;
}

async function pendingTypes(): Promise<string[]> {
  const rows = await t.query<{ type: string }>("SELECT type FROM job_queue WHERE status = 'pending' ORDER BY ref");
  return rows.map((row) => row.type);
}

test("the one-statement claim takes only the exact type: lookalikes by case, trailing space or width stay pending", async () => {
  const real = await queueLookalikes();
  const claim = await claimJobs(t.db, options());
  assert.deepEqual(
    claim.jobs.map((job) => [job.ref, job.type]),
    [[real, "noop"]],
    "only the row whose type is exactly noop may be claimed",
  );
  assert.deepEqual(await pendingTypes(), LOOKALIKES, "every lookalike must stay pending, untouched");
});

test("the claim in a transaction (a limited type) takes only the exact type, and counts only its running rows", async () => {
  const real = await queueLookalikes();
  // A running lookalike must not count against noop's limit either.
  await t.query("INSERT INTO job_queue (type, job_data, status, lease_until) VALUES ('NOOP', '{}', 'running', NOW(3) + INTERVAL 1 MINUTE)");
  await ensureTypeSlots(t.db, ["noop"]);
  const claim = await claimInTransaction(t.db, options({ limits: { noop: 1 } }));
  assert.deepEqual(
    claim.jobs.map((job) => [job.ref, job.type]),
    [[real, "noop"]],
    "the one exact noop must be claimed, its limit not taken by the running NOOP",
  );
  assert.deepEqual(await pendingTypes(), LOOKALIKES);
});
