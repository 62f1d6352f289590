import assert from "node:assert/strict";
import { test } from "node:test";
import mysql from "mysql2/promise";
import { claimInTransaction, claimJobs, type Claim, type ClaimOptions } from "../../src/queue/claim.js";
import { useTestDatabase } from "../helpers/database.js";

/**
 * A pending row that another transaction holds (an application updating it, an operator's
 * open session) must be skipped by every claim, whatever the size of the queue: a claim that
 * waited behind it would stall every run for as long as that transaction stays open.
 */

const t = useTestDatabase({ emptyBeforeEach: true });

const options = (max: number, workerId: string): ClaimOptions => ({ types: ["noop"], limits: {}, max, workerId, leaseSeconds: 60 });

/** How long a claim may take before it counts as waiting on the locked row. */
const PATIENCE_MS = 3000;

async function within<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not return within ${PATIENCE_MS} ms: it waited behind the row another transaction holds`)),
      PATIENCE_MS,
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Queues `size` noop jobs, and holds the first in claim order locked in a transaction of another connection. */
async function queueWithLockedHead(size: number) {
  await t.query("INSERT INTO job_queue (type, job_data) SELECT 'noop', '{}' FROM seq_1_to_" + size);
  const [head] = await t.query<{ ref: number }>("SELECT MIN(ref) AS ref FROM job_queue");
  const locker = await mysql.createConnection(t.url);
  await locker.query("BEGIN");
  await locker.query("SELECT ref FROM job_queue WHERE ref = ? FOR UPDATE", [head!.ref]);
  return { locked: Number(head!.ref), locker };
}

for (const size of [1, 3, 10, 30, 300]) {
  test(`with ${size} pending row(s), two claims at once skip the one another transaction holds instead of waiting for it`, async () => {
    const { locked, locker } = await queueWithLockedHead(size);
    // Two claims at once, each asking for about half, as a run's two claims in flight do.
    const half = Math.max(1, Math.ceil(size / 2));
    const claims: Array<Promise<Claim>> = [claimJobs(t.db, options(half, "host-a:1")), claimJobs(t.db, options(half, "host-b:2"))];
    try {
      const got = (await within(Promise.all(claims), "the one-statement claim")).flatMap((claim) => claim.jobs.map((job) => job.ref));
      assert.ok(!got.includes(locked), `the locked job ${locked} must not be claimed while another transaction holds it`);
      assert.equal(new Set(got).size, got.length, "no job may be claimed twice");
      assert.equal(got.length, Math.min(size - 1, 2 * half), "every other due job must be claimed");
    } finally {
      await locker.query("ROLLBACK");
      await locker.end();
      await Promise.allSettled(claims);
    }
    const after = await claimJobs(t.db, options(size, "host-a:1"));
    assert.deepEqual(
      after.jobs.map((job) => job.ref),
      [locked],
      "once the other transaction ends, the skipped job is claimed",
    );
  });

  test(`with ${size} pending row(s), the claim in a transaction skips the row another transaction holds`, async () => {
    const { locked, locker } = await queueWithLockedHead(size);
    const claim = claimInTransaction(t.db, options(size, "host-a:1"));
    try {
      const got = (await within(claim, "the claim in a transaction")).jobs.map((job) => job.ref);
      assert.ok(!got.includes(locked), `the locked job ${locked} must not be claimed`);
      assert.equal(got.length, size - 1, "every other due job must be claimed");
    } finally {
      await locker.query("ROLLBACK");
      await locker.end();
      await claim.catch(() => undefined);
    }
  });
}
