import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { afterEach, test } from "node:test";
import { type CliResult, collect, killTree, linesOf, runCli, sleep, startCli, waitFor } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * docs/architecture.md, "Leases, recovery and fencing": a run killed mid-job leaves its row `running`; the lease, not the file lock,
 * decides when it may run again (next run after expiry, or at once with --clear-lock --job
 * when the holder is provably dead). A job held by a live process is never run twice.
 */

const env = useTestEnvironment("oj-crash-");

/** Long enough that a run started right after the crash still finds the lease valid on a loaded machine. */
const LEASE_SECONDS = 5;
// Each test leaves a job behind on purpose (stuck, or held by a killed run): keep it out of the next test.
afterEach(async () => {
  await env.db.query("DELETE FROM job_queue");
});

interface Row {
  status: string;
  attempts: number;
  locked_by: string | null;
  log: string | null;
}

const row = async (ref: number) => (await env.db.query<Row>("SELECT status, attempts, locked_by, log FROM job_queue WHERE ref = ?", [ref]))[0]!;

/** One host per test (its own lock directory), all on this file's database. */
function setup(name: string) {
  const config = hostConfig(env, "host-a", { leaseSeconds: LEASE_SECONDS }, name);
  return { config, recordFile: path.join(env.dir, `${name}.runs`) };
}

async function enqueue(data: Record<string, unknown>): Promise<number> {
  return env.db.insertJob("record", data);
}

/** Starts a run holding one slot, waits until the (long) job has started in it. */
async function startLongJob(config: string, recordFile: string, ref: number) {
  const child = startCli(["run", "--max-jobs", "1"], { config });
  const result = collect(child, 60_000);
  await waitFor(() => linesOf(recordFile).length === 1, `job ${ref} to start`, 15_000);
  return { child, result };
}

function lockDirOf(configFile: string): string {
  return JSON.parse(fs.readFileSync(configFile, "utf8")).lockDir as string;
}

/** SIGKILLs the run and its children and waits until it is reaped (a zombie still "exists"). */
async function crash(child: ReturnType<typeof startCli>, result: Promise<CliResult>): Promise<number> {
  killTree(child, "SIGKILL");
  const ended = await result;
  assert.equal(ended.signal, "SIGKILL", "the run should have been killed");
  return Date.now();
}

test("a job whose run was SIGKILLed is re-queued after its lease expires and completes on the next run with attempts = 2", { timeout: 30_000 }, async () => {
  const { config, recordFile } = setup("lease");
  const ref = await enqueue({ file: recordFile, sleepMs: 60_000 });
  const first = await startLongJob(config, recordFile, ref);
  const killedAt = await crash(first.child, first.result);

  const stuck = await row(ref);
  assert.equal(stuck.status, "running", "a killed run leaves its job running until the lease says otherwise");
  assert.equal(stuck.attempts, 1);

  // The second attempt should be quick (and if the next run wrongly takes the job, it ends at once).
  await env.db.query("UPDATE job_queue SET job_data = ? WHERE ref = ?", [JSON.stringify({ file: recordFile, sleepMs: 10 }), ref]);

  // Right away: the lease is still valid, so a run (with a free slot) must not take the job.
  const early = await runCli(["run", "--max-jobs", "2"], { config, timeoutMs: 20_000 });
  assert.equal(early.code, 0, `a run with nothing claimable should exit 0; stderr:\n${tail(early.stderr)}`);
  assert.match(
    early.stderr,
    /done in [\d.]+ s with \d+ slot\(s\): 0 complete/,
    `the early run should have looked for work with a free slot; stderr:\n${tail(early.stderr)}`,
  );
  const still = await row(ref);
  assert.deepEqual(
    [still.status, still.attempts, linesOf(recordFile).length],
    ["running", 1, 1],
    `the job must not be re-run while its lease is valid; early run's stderr:\n${tail(early.stderr)}`,
  );

  // Wait until both the lease and the dead run's file locks have expired.
  await waitFor(
    async () => (await env.db.query("SELECT ref FROM job_queue WHERE ref = ? AND lease_until < NOW(3)", [ref])).length > 0,
    "the lease to expire",
    LEASE_SECONDS * 1000 + 5_000,
  );
  await sleep(Math.max(0, killedAt + 2_300 - Date.now()));

  const next = await runCli(["run"], { config, timeoutMs: 20_000 });
  assert.equal(next.code, 0, `the run after the lease expired failed; stderr:\n${tail(next.stderr)}`);
  const done = await row(ref);
  assert.equal(done.status, "complete", `the recovered job should complete on the next run; stderr:\n${tail(next.stderr)}`);
  assert.equal(done.attempts, 2, "the lost attempt counts: attempts = 2");
  assert.match(done.log ?? "", /attempt 1 lost: the lease of host-a:\d+ expired; re-queued/, "the job log should say why it ran again");
  const runs = linesOf(recordFile);
  assert.equal(runs.length, 2, `the handler should have started exactly twice, record file: ${runs.join(" | ")}`);
  assert.notEqual(runs[0]!.split(" ")[1], runs[1]!.split(" ")[1], "the two runs should be different processes");
});

test("--clear-lock --job ID re-runs a job stuck with a dead holder at once", { timeout: 30_000 }, async () => {
  const { config, recordFile } = setup("clear");
  const ref = await enqueue({ file: recordFile, sleepMs: 60_000 });
  const first = await startLongJob(config, recordFile, ref);
  const deadPid = first.child.pid!;
  // A first attempt takes its job lock once it has run for a moment (see QueueRunner.jobLock):
  // wait until the lock is there, as it is for any job that has been running a while.
  await waitFor(() => fs.existsSync(path.join(lockDirOf(config), `job-${ref}.lock`)), "the job lock");
  await crash(first.child, first.result);
  assert.equal((await row(ref)).status, "running");
  await env.db.query("UPDATE job_queue SET job_data = ? WHERE ref = ?", [JSON.stringify({ file: recordFile, sleepMs: 10 }), ref]);

  const cleared = await runCli(["--clear-lock", "--job", String(ref)], { config, timeoutMs: 20_000 });
  const output = `${cleared.stdout}\n${cleared.stderr}`;
  assert.equal(cleared.code, 0, `--clear-lock --job ${ref} should run the stuck job and exit 0; output:\n${tail(output)}`);
  assert.match(
    output,
    new RegExp(`removed lock job-${ref} held by host-a:${deadPid} \\(holder dead`),
    `it should report the job lock and its dead holder; output:\n${tail(output)}`,
  );
  assert.match(
    output,
    new RegExp(`removed lock slot-1 held by host-a:${deadPid} \\(holder dead`),
    `it should report the slot lock and its dead holder; output:\n${tail(output)}`,
  );

  const done = await row(ref);
  assert.equal(done.status, "complete", `the stuck job should have been re-queued and run; output:\n${tail(output)}`);
  assert.equal(done.attempts, 2);
  assert.match(
    done.log ?? "",
    new RegExp(`--clear-lock: attempt 1 re-queued; its holder host-a:${deadPid} is dead`),
    "re-queued by --clear-lock, not by lease expiry",
  );
  assert.equal(linesOf(recordFile).length, 2, "the handler should have started exactly twice");
});

test("--job ID of a job running in a live process is refused with exit 1", { timeout: 30_000 }, async () => {
  const { config, recordFile } = setup("live");
  const ref = await enqueue({ file: recordFile, sleepMs: 60_000 });
  const live = await startLongJob(config, recordFile, ref);
  try {
    const holder = `host-a:${live.child.pid}`;
    // The live run holds slot-1 of 2, so these runs get a slot and really ask for the job.
    const plain = await runCli(["--job", String(ref)], { config, timeoutMs: 20_000 });
    assert.equal(plain.code, 1, `--job ${ref} of a job running elsewhere should exit 1; stderr:\n${tail(plain.stderr)}`);
    assert.match(plain.stderr, new RegExp(`job ${ref} .*running.*${holder}`), `the refusal should name the live holder; stderr:\n${tail(plain.stderr)}`);

    const forced = await runCli(["--clear-lock", "--job", String(ref)], { config, timeoutMs: 20_000 });
    assert.equal(forced.code, 1, `--clear-lock --job ${ref} must not take a job from a live process; stderr:\n${tail(forced.stderr)}`);
    assert.match(forced.stderr, /holder still alive/, `--clear-lock should say the holder was alive; stderr:\n${tail(forced.stderr)}`);

    const current = await row(ref);
    assert.deepEqual([current.status, current.attempts, current.locked_by], ["running", 1, holder], "the job should still be running in the live process");
    assert.equal(linesOf(recordFile).length, 1, "the handler must not have started a second time");
  } finally {
    killTree(live.child, "SIGKILL");
    await live.result.catch(() => undefined);
  }
});
