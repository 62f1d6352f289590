import assert from "node:assert/strict";
import { test } from "node:test";
import { claimJobs, type ClaimOptions } from "../../src/queue/claim.js";
import { ensureTypeSlots } from "../../src/queue/type-slots.js";
import { finishJobs } from "../../src/queue/finish.js";
import { recoverExpiredJobs, releaseJobs, renewLeases } from "../../src/queue/leases.js";
import { useTestDatabase } from "../helpers/database.js";

const t = useTestDatabase({ emptyBeforeEach: true });

const claimOptions = (overrides: Partial<ClaimOptions> = {}): ClaimOptions => ({
  types: ["noop"],
  limits: {},
  max: 10,
  workerId: "host-a:1",
  leaseSeconds: 60,
  ...overrides,
});

/** The jobs of one claim. */
const claimed = async (options: ClaimOptions) => (await claimJobs(t.db, options)).jobs;

const policy = { maxAttempts: () => 3, onLost: () => "retry" as const };

async function insert(rows: Array<[string, string]>, extra = ""): Promise<number[]> {
  for (const [type, data] of rows) await t.query(`INSERT INTO job_queue SET type = ?, job_data = ? ${extra}`, [type, data]);
  const found = await t.query<{ ref: number }>("SELECT ref FROM job_queue ORDER BY ref");
  return found.map((r) => Number(r.ref));
}

async function row(ref: number) {
  const [found] = await t.query<Record<string, any>>("SELECT * FROM job_queue WHERE ref = ?", [ref]);
  return found!;
}

test("a claim takes due jobs by priority then ref, only of the types asked for, and marks them running", async () => {
  await insert([
    ["noop", "{}"],
    ["other", "{}"],
    ["noop", "{}"],
  ]);
  await t.query("UPDATE job_queue SET priority = 0 WHERE ref = (SELECT MAX(ref) FROM (SELECT ref FROM job_queue) x)");
  const jobs = await claimed(claimOptions());
  assert.deepEqual(
    jobs.map((j) => j.type),
    ["noop", "noop"],
    "only noop jobs are claimed",
  );
  assert.ok(jobs[0]!.ref > jobs[1]!.ref, "the priority-0 job comes first although its ref is higher");
  const first = await row(jobs[0]!.ref);
  assert.equal(first.status, "running");
  assert.equal(first.attempts, 1);
  assert.equal(first.locked_by, "host-a:1");
  assert.equal(first.lock_token, jobs[0]!.token);
  const other = await t.query<{ status: string }>("SELECT status FROM job_queue WHERE type = 'other'");
  assert.equal(other[0]!.status, "pending", "a type this process has no handler for stays pending");
});

test("a job whose run_after is in the future is not claimed until it is due", async () => {
  await t.query("INSERT INTO job_queue (type, job_data, run_after) VALUES ('noop', '{}', NOW(3) + INTERVAL 1 HOUR)");
  assert.equal((await claimed(claimOptions())).length, 0);
  await t.query("UPDATE job_queue SET run_after = NOW(3) - INTERVAL 1 SECOND");
  assert.equal((await claimed(claimOptions())).length, 1);
});

test("two concurrent claimers never get the same job", async () => {
  await t.query("INSERT INTO job_queue (type, job_data) SELECT 'noop', '{}' FROM seq_1_to_200");
  const batches = await Promise.all(Array.from({ length: 8 }, (_, i) => claimed(claimOptions({ max: 40, workerId: `h:${i}` }))));
  const refs = batches.flat().map((j) => j.ref);
  assert.equal(new Set(refs).size, refs.length, "a ref was handed to two claimers");
  assert.equal(refs.length, 200, "every job was claimed by someone");
});

test("a process whose lease was taken over cannot overwrite the new holder's result (fencing)", async () => {
  const [ref] = await insert([["noop", "{}"]]);
  const [stale] = await claimed(claimOptions({ workerId: "host-a:1" }));
  await t.query("UPDATE job_queue SET lease_until = NOW(3) - INTERVAL 1 SECOND WHERE ref = ?", [ref]);
  const recovered = await recoverExpiredJobs(t.db, policy);
  assert.deepEqual(recovered, { requeued: [ref], failed: [] });
  const [fresh] = await claimed(claimOptions({ workerId: "host-b:2" }));
  assert.equal(fresh!.ref, ref);
  assert.equal(fresh!.attempt, 2);

  const lost = await renewLeases(t.db, [{ ref: ref!, token: stale!.token, progress: 50 }], 60);
  assert.equal(lost.length, 1, "the stale holder learns at its heartbeat that the job is no longer its own");
  assert.match(lost[0]!.detail, /held by host-b:2/);

  const fencedOut = await finishJobs(t.db, [{ kind: "complete", ref: ref!, token: stale!.token, result: '{"by":"stale"}', log: "stale\n" }], 65536);
  assert.deepEqual(fencedOut, [ref], "the stale write is reported as not recorded");
  assert.equal((await row(ref!)).status, "running", "the stale process did not complete the job");

  assert.deepEqual(await finishJobs(t.db, [{ kind: "complete", ref: ref!, token: fresh!.token, result: '{"by":"fresh"}', log: "fresh\n" }], 65536), []);
  const final = await row(ref!);
  assert.equal(final.status, "complete");
  assert.equal(final.result, '{"by":"fresh"}');
  assert.doesNotMatch(final.log, /stale\n/);
});

test("one batch of outcomes from several claims writes each job under its own claim's token, and fences out only the stale one", async () => {
  const refs = await insert([
    ["noop", "{}"],
    ["noop", "{}"],
    ["noop", "{}"],
    ["noop", "{}"],
  ]);
  const first = await claimed(claimOptions({ max: 2 }));
  const second = await claimed(claimOptions({ max: 2 }));
  assert.notEqual(first[0]!.token, second[0]!.token, "two claims, two tokens");
  // The second claim's last job was recovered and taken by another host meanwhile.
  const taken = second[1]!;
  await t.query("UPDATE job_queue SET lock_token = 'another-host-token' WHERE ref = ?", [taken.ref]);
  const outcomes = [...first, ...second].map((job) => ({ kind: "complete" as const, ref: job.ref, token: job.token, result: "{}", log: "done\n" }));
  assert.deepEqual(await finishJobs(t.db, outcomes, 65536), [taken.ref], "only the job whose token changed is fenced out");
  for (const ref of refs) {
    assert.equal((await row(ref)).status, ref === taken.ref ? "running" : "complete", `job ${ref}`);
  }
  // A token must not vouch for another claim's job: first's token on second's job changes nothing.
  const crossed = await finishJobs(t.db, [{ kind: "complete", ref: taken.ref, token: first[0]!.token, result: "{}", log: "" }], 65536);
  assert.deepEqual(crossed, [taken.ref]);
});

test("an expired lease whose attempts are used up fails the job with 'worker lost: lease expired'", async () => {
  const [ref] = await insert([["noop", "{}"]]);
  await t.query("UPDATE job_queue SET max_attempts = 1 WHERE ref = ?", [ref]);
  await claimed(claimOptions());
  await t.query("UPDATE job_queue SET lease_until = NOW(3) - INTERVAL 1 SECOND");
  const recovered = await recoverExpiredJobs(t.db, { ...policy, failureNotice: (job) => `Job ${job.ref} failed: ${job.error}` });
  assert.deepEqual(recovered, { requeued: [], failed: [{ ref, type: "noop", user: null, notice: `Job ${ref} failed: worker lost: lease expired` }] });
  const failed = await row(ref!);
  assert.equal(failed.result, JSON.stringify({ notice: `Job ${ref} failed: worker lost: lease expired` }), "the failed job's result carries its notice");
  assert.equal(failed.status, "failed");
  assert.equal(failed.error, "worker lost: lease expired");
  assert.match(failed.log, /attempt 1 lost: the lease of host-a:1 expired; failed/);
});

test("a type with onLost 'fail' is failed instead of re-run when its lease expires", async () => {
  const [ref] = await insert([["noop", "{}"]]);
  await claimed(claimOptions());
  await t.query("UPDATE job_queue SET lease_until = NOW(3) - INTERVAL 1 SECOND");
  const result = await recoverExpiredJobs(t.db, { maxAttempts: () => 3, onLost: () => "fail" });
  assert.deepEqual(result, { requeued: [], failed: [{ ref, type: "noop", user: null, notice: null }] });
});

test("a live lease is neither recovered nor claimable", async () => {
  await insert([["noop", "{}"]]);
  await claimed(claimOptions());
  assert.deepEqual(await recoverExpiredJobs(t.db, policy), { requeued: [], failed: [] });
  assert.equal((await claimed(claimOptions({ workerId: "host-b:2" }))).length, 0);
});

test("jobs claimed but never started go back to pending without counting the attempt", async () => {
  const [ref] = await insert([["noop", "{}"]]);
  const [job] = await claimed(claimOptions());
  assert.equal(await releaseJobs(t.db, [job!]), 1);
  const released = await row(ref!);
  assert.equal(released.status, "pending");
  assert.equal(released.attempts, 0);
});

test("a retry outcome puts the job back to pending after its backoff, keeping the error", async () => {
  const [ref] = await insert([["noop", "{}"]]);
  const [job] = await claimed(claimOptions());
  await finishJobs(t.db, [{ kind: "retry", ref: ref!, token: job!.token, error: "timed out after 1 s", log: "x\n", delaySeconds: 30 }], 65536);
  const retried = await row(ref!);
  assert.equal(retried.status, "pending");
  assert.equal(retried.error, "timed out after 1 s");
  const [due] = await t.query<{ wait: number }>("SELECT TIMESTAMPDIFF(SECOND, NOW(3), run_after) AS wait FROM job_queue WHERE ref = ?", [ref]);
  assert.ok(Number(due!.wait) >= 28 && Number(due!.wait) <= 30, `run_after is about 30 s ahead (got ${due!.wait} s)`);
});

test("concurrency 1: concurrent claimers together get at most one job of the limited type", async () => {
  await t.query("INSERT INTO job_queue (type, job_data) SELECT 'noop', '{}' FROM seq_1_to_20");
  await ensureTypeSlots(t.db, ["noop"]);
  const batches = await Promise.all(Array.from({ length: 6 }, (_, i) => claimed(claimOptions({ limits: { noop: 1 }, workerId: `h:${i}` }))));
  assert.equal(batches.flat().length, 1, "exactly one job of a concurrency-1 type may run");
  const again = await claimJobs(t.db, claimOptions({ limits: { noop: 1 } }));
  assert.deepEqual(again.full, ["noop"], "a claim says which limited types were full");
  assert.equal((await claimed(claimOptions({ limits: { noop: 1 } }))).length, 0, "the type stays at its limit while one runs");
});

test("a log longer than the cap keeps its tail", async () => {
  const [ref] = await insert([["noop", "{}"]]);
  const [job] = await claimed(claimOptions());
  await finishJobs(t.db, [{ kind: "complete", ref: ref!, token: job!.token, result: "{}", log: `${"a".repeat(5000)}END` }], 1000);
  const stored = (await row(ref!)).log as string;
  assert.equal(stored.length, 1000);
  assert.ok(stored.endsWith("END"));
});
