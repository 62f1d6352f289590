import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { test } from "node:test";
import { silentLogger } from "../../src/logger.js";
import type { Outcome } from "../../src/queue/finish.js";
import { Finisher } from "../../src/runner/loop/finisher.js";
import { OutcomeBounds } from "../../src/runner/attempt/outcome-bounds.js";
import { useTestDatabase } from "../helpers/database.js";

const t = useTestDatabase({ emptyBeforeEach: true });
const TOKEN = "f".repeat(32);
/** Long enough that nothing in a test is written by the clock unless the test says so. */
const NEVER_MS = 600_000;

/** `n` rows running under TOKEN, as a claim leaves them; returns their refs. */
async function runningJobs(n: number): Promise<number[]> {
  const rows = Array.from({ length: n }, () => ["noop", "{}", "running", TOKEN, 1]);
  await t.query("INSERT INTO job_queue (type, job_data, status, lock_token, attempts) VALUES ?", [rows]);
  const refs = await t.query<{ ref: number }>("SELECT ref FROM job_queue ORDER BY ref");
  return refs.map((r) => Number(r.ref));
}

function finisher(gather: { outcomes: number; ms: number }): Finisher {
  return new Finisher(t.db, new OutcomeBounds(65_535), silentLogger, 10_000, undefined, gather);
}

const complete = (ref: number): Outcome => ({ kind: "complete", ref, token: TOKEN, result: "{}", log: "" });
/** What a notice needs of the job (no notifier here). */
const SUBJECT = { type: "noop", user: null };

async function statuses(): Promise<string[]> {
  const rows = await t.query<{ status: string }>("SELECT status FROM job_queue ORDER BY ref");
  return rows.map((r) => r.status);
}

test("an outcome waits to be written with others: until the gather time, its row is still running; drain() writes it at once", async () => {
  const [ref] = await runningJobs(1);
  const f = finisher({ outcomes: 64, ms: NEVER_MS });
  let written = false;
  void f.add(complete(ref!), SUBJECT).then(() => (written = true));
  // A round trip of our own: had the Finisher written at once, its write would have been first.
  assert.deepEqual(await statuses(), ["running"], "a lone outcome must wait for others before its write");
  assert.equal(written, false, "add() must not resolve before the outcome is written");
  await f.drain();
  assert.deepEqual(await statuses(), ["complete"], "drain() must write what waits without waiting further");
  assert.equal(written, true, "add() must resolve once drain() has written it");
});

test("once the gather count is reached, the waiting outcomes go together without waiting for the clock", async () => {
  const refs = await runningJobs(5);
  const f = finisher({ outcomes: 5, ms: NEVER_MS });
  await Promise.all(refs.map((ref) => f.add(complete(ref), SUBJECT)));
  assert.deepEqual(await statuses(), Array(5).fill("complete"), "the fifth outcome must send all five");
  assert.equal(f.unwritten, 0);
});

test("an outcome added with now (a limited type's) is written at once, and takes along what was waiting", async () => {
  const refs = await runningJobs(3);
  const f = finisher({ outcomes: 64, ms: NEVER_MS });
  const waiting = refs.slice(0, 2).map((ref) => f.add(complete(ref), SUBJECT));
  await f.add(complete(refs[2]!), SUBJECT, { now: true });
  await Promise.all(waiting);
  assert.deepEqual(await statuses(), ["complete", "complete", "complete"]);
});

test("when nothing more arrives, a lone outcome is written after the gather time", async () => {
  const [ref] = await runningJobs(1);
  const f = finisher({ outcomes: 64, ms: 50 });
  const started = performance.now();
  await f.add(complete(ref!), SUBJECT);
  assert.deepEqual(await statuses(), ["complete"]);
  assert.ok(performance.now() - started >= 45, "it should have waited about the gather time for company");
});

test("outcomes waiting when the Finisher gives up are released, counted as unwritten, and left running for lease recovery", async () => {
  const refs = await runningJobs(2);
  const f = finisher({ outcomes: 64, ms: NEVER_MS });
  const waiting = refs.map((ref) => f.add(complete(ref), SUBJECT));
  f.abandon(new Error("the database has not answered"));
  await Promise.all(waiting); // must not hang: a limited type's attempt awaits its outcome
  assert.equal(f.unwritten, 2, "both outcomes must be reported as not recorded");
  await assert.rejects(f.drain(), /has not answered/);
  await assert.rejects(f.add(complete(refs[0]!), SUBJECT), /has not answered/, "nothing is taken after giving up");
  assert.deepEqual(await statuses(), ["running", "running"]);
});
