import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { claimJobByRef } from "../../src/queue/claim-by-ref.js";
import { claimJobs, type ClaimOptions } from "../../src/queue/claim.js";
import { ensureTypeSlots } from "../../src/queue/type-slots.js";
import { useTestDatabase } from "../helpers/database.js";

/**
 * Rows the runner cannot carry (attempts at the column's maximum, a ref beyond 2^53 − 1) are
 * failed by the claim that meets them, each with its reason, in both claim shapes; the claim
 * still fills its batch from the rows behind them, so a short claim keeps meaning "nothing
 * more is due".
 */

const t = useTestDatabase({ emptyBeforeEach: true });

// Each test's big ref moves AUTO_INCREMENT past 2^53; the table is empty again here, so this
// brings the counter back to 1.
beforeEach(() => t.query("ALTER TABLE job_queue AUTO_INCREMENT = 1"));

const options = (overrides: Partial<ClaimOptions> = {}): ClaimOptions => ({
  types: ["noop"],
  limits: {},
  max: 3,
  workerId: "host-a:1",
  leaseSeconds: 60,
  ...overrides,
});

/** Two rows at the head of the queue that cannot run, then three that can. */
async function queue(): Promise<{ runnable: number[]; worn: number }> {
  const worn = await t.insertJob("noop", {}, { attempts: 65535, priority: 0 });
  const runnable = [await t.insertJob("noop", {}), await t.insertJob("noop", {}), await t.insertJob("noop", {})];
  // Last, as it moves AUTO_INCREMENT; priority 0 puts it at the head all the same.
  await t.query("INSERT INTO job_queue (ref, type, job_data, priority) VALUES (9007199254740993, 'noop', '{}', 0)");
  return { runnable, worn };
}

async function check(claimed: number[], expected: { runnable: number[]; worn: number }): Promise<void> {
  assert.deepEqual(claimed, expected.runnable, "the claim must fill its batch with the three runnable jobs");
  const rows = await t.query<{ ref: string; status: string; error: string | null; attempts: number }>(
    "SELECT CAST(ref AS CHAR) AS ref, status, error, attempts FROM job_queue WHERE ref = ? OR ref > 9007199254740991 ORDER BY ref",
    [expected.worn],
  );
  assert.deepEqual(
    rows.map((row) => [row.ref, row.status, row.error]),
    [
      [String(expected.worn), "failed", "its attempts count is 65535, the most the column holds, so no further attempt can be counted and it was not run"],
      [
        "9007199254740993",
        "failed",
        "its ref 9007199254740993 is above 9007199254740991 (2^53 - 1), the largest ref offline-jobs carries exactly, so it was not run",
      ],
    ],
    "both rows must be failed, each with its own reason",
  );
  assert.equal(rows[0]!.attempts, 65535, "attempts must stay at its maximum, not overflow");
  const [neighbour] = await t.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE ref = 9007199254740992");
  assert.equal(Number(neighbour!.n), 0, "nothing may be written at the rounded ref");
}

test("the one-statement claim fails rows it cannot carry and fills its batch from the rows behind them", async () => {
  const expected = await queue();
  const claim = await claimJobs(t.db, options());
  await check(
    claim.jobs.map((job) => job.ref),
    expected,
  );
});

test("the claim in a transaction (a limited type) fails rows it cannot carry and fills its batch from the rows behind them", async () => {
  const expected = await queue();
  await ensureTypeSlots(t.db, ["noop"]);
  const claim = await claimJobs(t.db, options({ limits: { noop: 10 } }));
  await check(
    claim.jobs.map((job) => job.ref),
    expected,
  );
});

test("run --job on a row at the attempts maximum fails it with the reason instead of overflowing", async () => {
  const ref = await t.insertJob("noop", {}, { attempts: 65535 });
  const result = await claimJobByRef(t.db, ref, { limits: {}, workerId: "host-a:1", leaseSeconds: 60 });
  assert.equal(result.job, undefined);
  assert.match(result.reason ?? "", /^its attempts count is 65535, .*; it is failed now$/, "the reason must say why the job was not run");
  const [row] = await t.query<{ status: string }>("SELECT status FROM job_queue WHERE ref = ?", [ref]);
  assert.equal(row!.status, "failed");
});
