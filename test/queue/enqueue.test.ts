import assert from "node:assert/strict";
import { test } from "node:test";
import { enqueueJobs } from "../../src/queue/enqueue.js";
import { checkSchema, checkServerVersion, applyMigrations } from "../../src/queue/migrations.js";
import { useTestDatabase } from "../helpers/database.js";

const t = useTestDatabase({ emptyBeforeEach: true });

test("an application can INSERT with only type and job_data; every other column has a default", async () => {
  await t.query("INSERT INTO job_queue (type, job_data) VALUES ('noop', '{}')");
  const [row] = await t.query<Record<string, any>>("SELECT * FROM job_queue");
  assert.equal(row!.status, "pending");
  assert.equal(row!.priority, 2);
  assert.equal(row!.attempts, 0);
  assert.equal(row!.max_attempts, null, "NULL max_attempts means the type's default");
  assert.ok(row!.created_at && row!.run_after, "created_at and run_after default to now");
});

test("adding the same code twice while the first is active returns the active job's ref", async () => {
  const [first] = await enqueueJobs(t.db, [{ type: "noop", code: "previews-42" }]);
  const [second] = await enqueueJobs(t.db, [{ type: "noop", code: "previews-42" }]);
  assert.deepEqual(second, { ref: first!.ref, existing: true });
  const [{ n }] = (await t.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue")) as [{ n: number }];
  assert.equal(Number(n), 1);
});

test("concurrent adds with the same code leave exactly one active job", async () => {
  const results = await Promise.all(Array.from({ length: 24 }, () => enqueueJobs(t.db, [{ type: "noop", code: "same" }])));
  const refs = new Set(results.flat().map((r) => r.ref));
  assert.equal(refs.size, 1, `all adds must agree on one ref, got ${[...refs].join(", ")}`);
  assert.equal(results.flat().filter((r) => !r.existing).length, 1, "exactly one add inserted");
  const [{ n }] = (await t.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE job_code = 'same'")) as [{ n: number }];
  assert.equal(Number(n), 1);
});

test("a code is free again once its job is no longer active, and a running job still blocks it", async () => {
  const [first] = await enqueueJobs(t.db, [{ type: "noop", code: "c" }]);
  await t.query("UPDATE job_queue SET status = 'running' WHERE ref = ?", [first!.ref]);
  assert.equal((await enqueueJobs(t.db, [{ type: "noop", code: "c" }]))[0]!.existing, true, "running jobs count as active");
  await t.query("UPDATE job_queue SET status = 'complete' WHERE ref = ?", [first!.ref]);
  const [again] = await enqueueJobs(t.db, [{ type: "noop", code: "c" }]);
  assert.equal(again!.existing, false);
  assert.notEqual(again!.ref, first!.ref);
});

test("a batch is added in one transaction with its fields", async () => {
  const runAt = new Date(Date.now() + 3600_000);
  const added = await enqueueJobs(t.db, [
    { type: "noop", data: { sleepMs: 1 }, user: "ann", priority: 1, maxAttempts: 5, successText: "done {ref}" },
    { type: "command", data: { command: "hello" }, runAt },
  ]);
  assert.equal(added.length, 2);
  const rows = await t.query<Record<string, any>>("SELECT *, TIMESTAMPDIFF(MINUTE, NOW(3), run_after) AS wait FROM job_queue ORDER BY ref");
  assert.equal(rows[0]!.user, "ann");
  assert.equal(rows[0]!.priority, 1);
  assert.equal(rows[0]!.max_attempts, 5);
  assert.equal(rows[0]!.job_data, '{"sleepMs":1}');
  assert.equal(rows[0]!.success_text, "done {ref}");
  assert.ok(Number(rows[1]!.wait) >= 58, `run_after is an hour ahead, in the server's time zone (got ${rows[1]!.wait} min)`);
});

test("init is idempotent and other commands' schema check passes afterwards", async () => {
  const again = await applyMigrations(t.db);
  assert.equal(again.from, again.to);
  await checkSchema(t.db);
});

test("servers without SKIP LOCKED are refused with a clear message", () => {
  assert.throws(() => checkServerVersion("10.5.19-MariaDB"), /MariaDB 10\.5\.19 is too old: offline-jobs needs MariaDB 10\.6/);
  assert.throws(() => checkServerVersion("5.7.44-log"), /MySQL 5\.7\.44 is too old: offline-jobs needs MySQL 8\.0\.1/);
  assert.equal(checkServerVersion("10.11.19-MariaDB-0+deb12u1"), "MariaDB 10.11.19");
  assert.equal(checkServerVersion("8.0.36"), "MySQL 8.0.36");
});
