import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { afterEach, test } from "node:test";
import { collect, isAlive, killTree, linesOf, runCli, startCli, waitFor } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * The operator's repairs by ref: cancel (a running job is stopped where it runs, its
 * subprocesses killed), retry (by ref and --failed --type) and boost. Real CLI processes
 * against a real database.
 */

const SLEEPER = `#!/bin/sh
# Writes its own pid, starts a child that would outlive it, writes that pid, waits.
echo $$ > "$1"
sleep 30 &
echo $! > "$1.child"
wait
`;

let config: string;
const env = useTestEnvironment("oj-repair-", (e) => {
  const script = path.join(e.dir, "sleeper.sh");
  fs.writeFileSync(script, SLEEPER, { mode: 0o755 });
  config = hostConfig(e, "host-a", {
    paths: { writeRoots: [e.dir] },
    commands: { sleeper: { argv: ["sh", script, "{pidfile}"], args: { pidfile: "write" }, timeoutSeconds: 120 } },
  });
});

afterEach(async () => {
  await env.db.query("DELETE FROM job_queue");
});

interface Row {
  ref: number;
  status: string;
  attempts: number;
  priority: number;
  error: string | null;
  log: string | null;
  finished_at: string | null;
  due: number;
}

async function row(ref: number): Promise<Row> {
  const [found] = await env.db.query<Row>(
    "SELECT ref, status, attempts, priority, error, log, finished_at, run_after <= NOW(3) AS due FROM job_queue WHERE ref = ?",
    [ref],
  );
  assert.ok(found, `job ${ref} should exist`);
  return { ...found, due: Number(found.due) };
}

/** A finished job, as a run would have left it. */
function finishedJob(type: string, status: "complete" | "failed" | "cancelled", columns: Record<string, unknown> = {}): Promise<number> {
  return env.db.insertJob(type, {}, { status, attempts: 3, finished_at: "2024-01-01 00:00:00", ...columns });
}

const refsOn = (stdout: string) => stdout.split("\n").filter(Boolean).map(Number);

test("cancel stops a running command job on another process and kills its subprocess tree", async () => {
  const pidfile = path.join(env.dir, "sleeper.pid");
  const ref = await env.db.insertJob("command", { command: "sleeper", args: { pidfile } });
  const run = startCli(["run", "--max-jobs", "1"], { config });
  const ended = collect(run, 60_000);
  try {
    const readPid = (file: string) => (fs.existsSync(file) ? Number(fs.readFileSync(file, "utf8")) || 0 : 0);
    const shell = await waitFor(() => readPid(pidfile), "the command to start", 20_000);
    const child = await waitFor(() => readPid(`${pidfile}.child`), "the command's child to start", 10_000);
    assert.ok(isAlive(shell) && isAlive(child), "the command and its child run before the cancel");

    const cancel = await runCli(["cancel", String(ref)], { config });
    assert.equal(cancel.code, 0, tail(cancel.stderr));
    assert.deepEqual(refsOn(cancel.stdout), [ref], "cancel prints the ref it acted on");
    assert.match(cancel.stderr, /asked to stop 1 job\(s\): \d+/);

    // The sleep would last 30 s: the run ends long before only if the job was stopped.
    const result = await ended;
    assert.equal(result.code, 0, `the run should end normally after the cancel:\n${tail(result.stderr)}`);
    await waitFor(() => !isAlive(shell) && !isAlive(child), `pids ${shell} and ${child} to be gone`, 10_000);
  } finally {
    killTree(run);
  }
  const after = await row(ref);
  assert.equal(after.status, "cancelled");
  assert.ok(after.finished_at, "the stopping process records when the job ended");
  assert.match(after.log ?? "", /cancel requested by an operator; asking its process to stop it: host-a:\d+/);
  assert.match(after.log ?? "", /stopped: cancelled by an operator/, "the attempt's own log is kept");
});

test("with the default 60 s lease, cancel reaches a running job within a few seconds, not a third of the lease", async () => {
  const pidfile = path.join(env.dir, "long-lease.pid");
  const longLease = hostConfig(
    env,
    "host-a",
    {
      leaseSeconds: 60,
      paths: { writeRoots: [env.dir] },
      commands: { sleeper: { argv: ["sh", path.join(env.dir, "sleeper.sh"), "{pidfile}"], args: { pidfile: "write" }, timeoutSeconds: 120 } },
    },
    "long-lease",
  );
  const ref = await env.db.insertJob("command", { command: "sleeper", args: { pidfile } });
  const run = startCli(["run", "--max-jobs", "1"], { config: longLease });
  const ended = collect(run, 60_000);
  try {
    await waitFor(() => fs.existsSync(pidfile) && fs.readFileSync(pidfile, "utf8").trim() !== "", "the command to start", 20_000);
    const cancelledAt = Date.now();
    const cancel = await runCli(["cancel", String(ref)], { config: longLease });
    assert.equal(cancel.code, 0, tail(cancel.stderr));
    assert.match(cancel.stderr, /stop them within about 2 s/);
    await waitFor(async () => (await row(ref)).finished_at !== null, `job ${ref} to be stopped by its run`, 15_000);
    const seconds = (Date.now() - cancelledAt) / 1000;
    // The renewal comes every 2 s; before, it came every 20 s (a third of the lease).
    assert.ok(seconds < 8, `the cancel took ${seconds.toFixed(1)} s to reach the running job`);
    assert.equal((await ended).code, 0);
  } finally {
    killTree(run);
  }
});

test("cancel of a job a run claimed ahead but has not started: its end is recorded at that run's next heartbeat", async () => {
  // Short jobs first teach the run that jobs are short, so it claims a few ahead; then one long
  // job holds the only slot while the two after it wait, claimed, in the run's buffer. Twenty:
  // on a busy machine the first ones can take tens of ms each, and the run's average must
  // come down to under 25 ms for it to claim two ahead (claim-plan.ts).
  for (let i = 0; i < 20; i++) await env.db.insertJob("noop", {});
  const startedFile = path.join(env.dir, "long.runs");
  const long = await env.db.insertJob("record", { file: startedFile, sleepMs: 4000 });
  const ahead = await env.db.insertJob("noop", {});
  const last = await env.db.insertJob("noop", {});
  const run = startCli(["run", "--max-jobs", "1"], { config });
  const ended = collect(run, 60_000);
  try {
    await waitFor(() => fs.existsSync(startedFile), `job ${long} to start`, 20_000);
    await waitFor(async () => (await row(ahead)).status === "running", `job ${ahead} to be claimed ahead`, 5000);
    const cancel = await runCli(["cancel", String(ahead)], { config });
    assert.equal(cancel.code, 0, tail(cancel.stderr));
    await waitFor(async () => (await row(ahead)).finished_at !== null, `job ${ahead}'s end to be recorded by the run holding it`, 5000);
    assert.equal((await row(long)).status, "running", "the end was recorded while the run was still busy, not at its exit");
    const result = await ended;
    assert.equal(result.code, 0, tail(result.stderr));
  } finally {
    killTree(run);
  }
  assert.equal((await row(ahead)).status, "cancelled");
  assert.equal((await row(last)).status, "complete", "the other job claimed ahead still ran");
});

test("cancel: a pending job at once; finished and unknown refs are reported; exit 1 only when none was cancelled", async () => {
  const pending = await env.db.insertJob("record", { file: "/dev/null" }, { run_after: "2999-01-01 00:00:00" });
  const complete = await finishedJob("record", "complete");
  const cancel = await runCli(["cancel", String(pending), String(complete), "999999"], { config });
  assert.equal(cancel.code, 0, tail(cancel.stderr));
  assert.deepEqual(refsOn(cancel.stdout), [pending], "only the cancelled ref is printed");
  assert.match(cancel.stderr, new RegExp(`job ${complete} not cancelled: it has already finished: complete`));
  assert.match(cancel.stderr, /job 999999 not cancelled: no such job/);
  const after = await row(pending);
  assert.equal(after.status, "cancelled");
  assert.ok(after.finished_at, "a pending job's cancel is its end");
  assert.match(after.log ?? "", /cancelled by an operator before it ran/);
  assert.equal((await row(complete)).status, "complete", "a complete job stays complete");

  // Its process died: nobody would record the stop, so it is cancelled at once.
  const lapsed = await env.db.insertJob("noop", {}, { status: "running", locked_by: "host-gone:1", lease_until: "2020-01-01 00:00:00" });
  const atOnce = await runCli(["cancel", String(lapsed)], { config });
  assert.equal(atOnce.code, 0, tail(atOnce.stderr));
  assert.match(atOnce.stderr, /cancelled 1 job\(s\)/);
  const lapsedRow = await row(lapsed);
  assert.equal(lapsedRow.status, "cancelled");
  assert.ok(lapsedRow.finished_at, "a job whose lease lapsed is cancelled at once, not left stopping");
  assert.match(lapsedRow.log ?? "", /the lease of its process had lapsed/);

  const again = await runCli(["cancel", String(pending)], { config });
  assert.equal(again.code, 0, "cancelling a cancelled job again is not an error");
  assert.match(again.stderr, /already cancelled/);

  const none = await runCli(["cancel", String(complete), "999999"], { config });
  assert.equal(none.code, 1, "nothing could be cancelled");
  assert.match(none.stderr, /no job was cancelled \(\d+: it has already finished: complete; 999999: no such job\)/);
  assert.equal(none.stdout, "");

  assert.equal((await runCli(["cancel", "twelve"], { config })).code, 2, "a ref that is not a number is a usage error");
  assert.equal((await runCli(["cancel"], { config })).code, 2, "cancel without refs is a usage error");
});

test("retry --failed --type resets the failed jobs of that type to pending, due now, with the error kept in the log", async () => {
  const failedNoop = await finishedJob("noop", "failed", { error: "boom: disk full", run_after: "2999-01-01 00:00:00" });
  const failedRecord = await finishedJob("record", "failed", { error: "other type" });
  const cancelledNoop = await finishedJob("noop", "cancelled");
  const completeNoop = await finishedJob("noop", "complete");

  const retry = await runCli(["retry", "--failed", "--type", "noop"], { config });
  assert.equal(retry.code, 0, tail(retry.stderr));
  assert.deepEqual(refsOn(retry.stdout), [failedNoop], "only the failed noop job is retried");
  assert.match(retry.stderr, /retried 1 job\(s\)/);

  const retried = await row(failedNoop);
  assert.equal(retried.status, "pending");
  assert.equal(retried.attempts, 0, "attempts start again from 0");
  assert.equal(retried.due, 1, "due now, not at its old run_after");
  assert.equal(retried.finished_at, null);
  assert.equal(retried.error, null, "the error column is cleared, so a later success shows none");
  assert.match(retried.log ?? "", /retried by an operator: attempts reset to 0 \(it was failed; last error: boom: disk full\)/);
  assert.equal((await row(failedRecord)).status, "failed", "--type leaves other types alone");
  assert.equal((await row(cancelledNoop)).status, "cancelled", "--failed leaves cancelled jobs alone");
  assert.equal((await row(completeNoop)).status, "complete");

  const nothing = await runCli(["retry", "--failed", "--type", "noop"], { config });
  assert.equal(nothing.code, 0, "no failed jobs left is not an error");
  assert.match(nothing.stderr, /no failed jobs of type noop to retry/);
});

test("retry by ref takes failed and cancelled jobs, and says why it left the others", async () => {
  const cancelled = await finishedJob("noop", "cancelled");
  const running = await env.db.insertJob("noop", {}, { status: "running", lease_until: "2999-01-01 00:00:00" });
  const coded = await finishedJob("noop", "failed", { job_code: "previews-42" });
  const holder = await env.db.insertJob("noop", {}, { job_code: "previews-42", run_after: "2999-01-01 00:00:00" });
  // Cancelled while running, and its process has not recorded the stop yet.
  const stopping = await env.db.insertJob("noop", {}, { status: "cancelled", locked_by: "host-b:77", lease_until: "2999-01-01 00:00:00" });

  const retry = await runCli(["retry", String(cancelled), String(running), String(coded), String(stopping), "999999"], { config });
  assert.equal(retry.code, 0, tail(retry.stderr));
  assert.deepEqual(refsOn(retry.stdout), [cancelled]);
  assert.match(retry.stderr, new RegExp(`job ${running} not retried: it is running`));
  assert.match(retry.stderr, new RegExp(`job ${coded} not retried: job ${holder} with the same code \\\\"previews-42\\\\" is active`));
  assert.match(retry.stderr, new RegExp(`job ${stopping} not retried: it was cancelled while running and host-b:77 is still stopping it`));
  assert.match(retry.stderr, /job 999999 not retried: no such job/);
  assert.equal((await row(cancelled)).status, "pending");
  assert.equal((await row(coded)).status, "failed", "de-duplication wins: the code is held by an active job");

  const none = await runCli(["retry", String(running)], { config });
  assert.equal(none.code, 1, "nothing could be retried");
  assert.match(none.stderr, /no job was retried/);

  for (const args of [["retry"], ["retry", "5", "--failed"], ["retry", "--type", "noop"], ["retry", "0"]]) {
    assert.equal((await runCli(args, { config })).code, 2, `${args.join(" ")} is a usage error`);
  }
});

test("boost makes a job, even one due later, the first to be claimed", async () => {
  const runs = path.join(env.dir, "boost.runs");
  const first = await env.db.insertJob("record", { file: runs });
  const second = await env.db.insertJob("record", { file: runs });
  const later = await env.db.insertJob("record", { file: runs }, { run_after: "2999-01-01 00:00:00" });
  const complete = await finishedJob("record", "complete");

  const boost = await runCli(["boost", String(later), String(complete)], { config });
  assert.equal(boost.code, 0, tail(boost.stderr));
  assert.deepEqual(refsOn(boost.stdout), [later]);
  assert.match(boost.stderr, new RegExp(`job ${complete} not boosted: it is complete \\(retry it instead\\)`));
  const boosted = await row(later);
  assert.equal(boosted.priority, 0);
  assert.equal(boosted.due, 1, "a boosted job is due now");

  const run = await runCli(["run", "--max-jobs", "1"], { config });
  assert.equal(run.code, 0, tail(run.stderr));
  const order = linesOf(runs).map((line) => Number(line.split(" ")[0]));
  assert.deepEqual(order, [later, first, second], "the boosted job runs first, then the others by ref");

  assert.equal((await runCli(["boost", String(complete)], { config })).code, 1, "boosting only finished jobs fails");
});
