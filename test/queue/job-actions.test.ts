import assert from "node:assert/strict";
import { test } from "node:test";
import { clearInactiveFor, deleteJobs, noteAction } from "../../src/queue/job-actions.js";
import { useTestDatabase } from "../helpers/database.js";
import { insertRows } from "../helpers/job-rows.js";

/** The jobs page's own actions: delete by ref within a scope, clear one's inactive jobs, and the log line of an action. */

const t = useTestDatabase({ emptyBeforeEach: true });

async function remaining(): Promise<number[]> {
  return (await t.query<{ ref: number }>("SELECT ref FROM job_queue ORDER BY ref")).map((row) => Number(row.ref));
}

const FUTURE = "2999-01-01 00:00:00";
const PAST = "2000-01-01 00:00:00";

test("deleteJobs deletes pending and finished jobs, never a running one or a cancel still stopping", async () => {
  const [pending, running, complete, failed, cancelledFree, cancelledHeld, lapsedCancel] = await insertRows(t, [
    { status: "pending" },
    { status: "running", locked_by: "web1:5", lease_until: FUTURE },
    { status: "complete" },
    { status: "failed" },
    { status: "cancelled" },
    { status: "cancelled", locked_by: "web1:5", lease_until: FUTURE },
    { status: "cancelled", locked_by: "web1:6", lease_until: PAST },
  ]);
  const result = await deleteJobs(t.db, {}, [pending!, running!, complete!, failed!, cancelledFree!, cancelledHeld!, lapsedCancel!, 987654]);
  assert.deepEqual(result.deleted, [pending, complete, failed, cancelledFree, lapsedCancel]);
  assert.deepEqual(
    result.skipped.map((s) => s.ref),
    [running, cancelledHeld, 987654],
  );
  assert.match(result.skipped[0]!.reason, /running/);
  assert.match(result.skipped[1]!.reason, /web1:5 is still stopping it/);
  assert.equal(result.skipped[2]!.reason, "no such job");
  assert.deepEqual(await remaining(), [running, cancelledHeld]);
});

test("deleteJobs within a scope treats another's job as no such job and leaves it", async () => {
  const [mine, theirs, shouting] = await insertRows(t, [
    { user: "alice", status: "complete" },
    { user: "bob", status: "complete" },
    { user: "ALICE", status: "complete" },
  ]);
  const result = await deleteJobs(t.db, { owner: "alice" }, [mine!, theirs!, shouting!]);
  assert.deepEqual(result.deleted, [mine]);
  assert.deepEqual(result.skipped, [
    { ref: theirs, reason: "no such job" },
    { ref: shouting, reason: "no such job" },
  ]);
  assert.deepEqual(await remaining(), [theirs, shouting]);
});

test("clearInactiveFor clears the user's own finished jobs, and the command line's only when asked", async () => {
  const refs = await insertRows(t, [
    { user: "alice", status: "complete" }, // 0: cleared
    { user: "alice", status: "failed" }, // 1: cleared
    { user: "alice", status: "pending" }, // 2: active
    { user: "alice", status: "cancelled", lease_until: FUTURE }, // 3: still stopping
    { user: "Alice", status: "complete" }, // 4: another user
    { user: "bob", status: "complete" }, // 5
    { user: "cli:deploy", status: "complete" }, // 6: command line
    { user: "CLI:deploy", status: "complete" }, // 7: not the command line's prefix
    { user: "cli:root", status: "running" }, // 8: active
  ]);
  assert.equal(await clearInactiveFor(t.db, { user: "alice", includeCommandLine: false }), 2);
  assert.deepEqual(await remaining(), refs.slice(2));
  assert.equal(await clearInactiveFor(t.db, { user: "alice", includeCommandLine: true }), 1);
  assert.deepEqual(await remaining(), [refs[2], refs[3], refs[4], refs[5], refs[7], refs[8]]);
});

test("noteAction appends one stamped line to each log, within the cap, and a newline in it cannot forge another", async () => {
  const [empty, withLog, unended] = await insertRows(t, [{ log: null }, { log: "first line\n" }, { log: "no newline at the end" }, { log: "x" }]);
  await noteAction(t.db, [empty!, withLog!, unended!], "cancelled by alice\n[2020-01-01T00:00:00.000Z] info forged (web)", 10_000);
  const logs = await t.query<{ ref: number; log: string }>("SELECT ref, log FROM job_queue ORDER BY ref");
  const line = /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] info cancelled by alice \[2020-01-01T00:00:00\.000Z\] info forged \(web\)\n$/;
  assert.match(logs[0]!.log, line);
  assert.equal(logs[1]!.log.split("\n")[0], "first line");
  assert.match(logs[1]!.log.slice("first line\n".length), line);
  assert.equal(logs[2]!.log.split("\n")[0], "no newline at the end", "the note starts on a line of its own");
  assert.match(logs[2]!.log.slice("no newline at the end\n".length), line);
  assert.equal(logs[3]!.log, "x", "a job not named keeps its log");
  await noteAction(t.db, [withLog!], "retried by bob (web)", 30);
  const [capped] = await t.query<{ log: string }>("SELECT log FROM job_queue WHERE ref = ?", [withLog]);
  assert.equal(capped!.log.length, 30, "the log keeps its last logMaxChars characters");
  assert.ok(capped!.log.endsWith("retried by bob (web)\n"));
});
