import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { afterEach, test } from "node:test";
import { collect, isAlive, linesOf, runCli, startCli, stderrSoFar, waitFor } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * `offline-jobs work`, the long-lived worker. It waits for jobs, exits 0 when told to
 * (restart stamp, limits, --stop-when-empty), and a SIGTERM never leaves a job `running`:
 * running jobs finish within the grace period or go back to pending, their subprocesses killed.
 */

const env = useTestEnvironment("oj-work-");

afterEach(async () => {
  await env.db.query("DELETE FROM job_queue");
});

interface Row {
  status: string;
  attempts: number;
  lease_until: string | null;
  log: string | null;
}
const row = async (ref: number) => (await env.db.query<Row>("SELECT status, attempts, lease_until, log FROM job_queue WHERE ref = ?", [ref]))[0]!;

/** The child's stderr so far, its last lines, for the message of a wait that timed out. */
function stderrOf(child: ReturnType<typeof startCli>): () => string {
  const text = stderrSoFar(child);
  return () => tail(text());
}

/** waitFor, whose timeout message ends with what the worker printed. */
function waitForWorker(check: () => Promise<boolean> | boolean, what: string, output: () => string): Promise<unknown> {
  return waitFor(check, what, 20_000).catch((error: Error) => {
    throw new Error(`${error.message}; the worker said:\n${output()}`);
  });
}

function setup(name: string, overrides: Record<string, unknown> = {}) {
  return { config: hostConfig(env, "host-a", { leaseSeconds: 5, ...overrides }, name), recordFile: path.join(env.dir, `${name}.runs`) };
}

test("a worker picks up jobs added while it waits, and exits 0 after its current job when `offline-jobs restart` is run", async () => {
  const { config, recordFile } = setup("restart");
  const worker = startCli(["work", "--sleep", "0.3", "--max-jobs", "2"], { config });
  const output = stderrOf(worker);
  const ended = collect(worker, 60_000);
  const first = await env.db.insertJob("record", { file: recordFile });
  await waitForWorker(async () => (await row(first)).status === "complete", `job ${first}, added while the worker waited, to complete`, output);
  const long = await env.db.insertJob("record", { file: recordFile, sleepMs: 2000 });
  await waitForWorker(() => linesOf(recordFile).length === 2, `job ${long} to start`, output);
  const restart = await runCli(["restart"], { config });
  assert.equal(restart.code, 0, restart.stderr);
  const result = await ended;
  assert.equal(result.code, 0, `the worker should exit 0 after a restart:\n${tail(result.stderr)}`);
  assert.match(result.stderr, /restart requested/);
  const after = await row(long);
  assert.equal(after.status, "complete", "restart lets the current job finish instead of interrupting it");
  assert.equal(after.attempts, 1);
});

test("a worker that started while a cron run held a slot takes that slot once the run ends", async () => {
  // The cron run's job waits for a flag file, so the test decides when that run ends: only
  // after the worker has started with the one slot left.
  const hold = ["sh", "-c", 'touch "$1.started"; while [ ! -e "$1" ]; do sleep 0.1; done', "hold", "{flag}"];
  const { config, recordFile } = setup("top-up", { paths: { writeRoots: [env.dir] }, commands: { hold: { argv: hold, args: { flag: "write" } } } });
  const flag = path.join(env.dir, "top-up.release");
  const runningDir = path.join(env.dir, "top-up-running");
  const peakFile = path.join(env.dir, "top-up.peak");
  fs.mkdirSync(runningDir);
  await env.db.insertJob("command", { command: "hold", args: { flag } });
  const cron = startCli(["run", "--max-jobs", "1", "--limit", "1"], { config });
  const cronEnded = collect(cron, 60_000);
  await waitFor(() => fs.existsSync(`${flag}.started`), "the cron run to start its job", 20_000);
  for (let i = 0; i < 8; i++) await env.db.insertJob("record", { file: recordFile, sleepMs: 1000, runningDir, peakFile });
  const worker = startCli(["work", "--max-jobs", "2", "--sleep", "0.3"], { config });
  const output = stderrOf(worker);
  const ended = collect(worker, 60_000);
  await waitForWorker(() => fs.existsSync(peakFile), "the worker to start a job in the one free slot", output);
  fs.writeFileSync(flag, "");
  assert.equal((await cronEnded).code, 0);
  await waitForWorker(() => linesOf(recordFile).length === 8 && fs.readdirSync(runningDir).length === 0, "the worker to run the eight jobs", output);
  worker.kill("SIGTERM");
  const result = await ended;
  assert.equal(result.code, 0, tail(result.stderr));
  assert.match(result.stderr, /took 1 more slot\(s\): 2 of 2/, "the worker took the slot the cron run freed");
  const peaks = linesOf(peakFile).map(Number);
  assert.equal(peaks[0], 1, "the worker began with one slot");
  assert.equal(Math.max(...peaks), 2, "with the freed slot the worker ran two jobs at once");
});

test("SIGTERM lets a running job finish within the grace period, and the worker exits 0", async () => {
  const { config, recordFile } = setup("grace");
  const ref = await env.db.insertJob("record", { file: recordFile, sleepMs: 1500 });
  const worker = startCli(["work", "--sleep", "0.3", "--grace", "20"], { config });
  const output = stderrOf(worker);
  const ended = collect(worker, 60_000);
  await waitForWorker(() => linesOf(recordFile).length === 1, `job ${ref} to start`, output);
  worker.kill("SIGTERM");
  const result = await ended;
  assert.equal(result.code, 0, tail(result.stderr));
  assert.equal((await row(ref)).status, "complete", "the job finished within the grace period");
});

test("SIGTERM past the grace period puts a running job back to pending (attempt not counted) and kills its subprocess", async () => {
  const pidFile = path.join(env.dir, "sleeper.pid");
  const script = path.join(env.dir, "sleeper.sh");
  fs.writeFileSync(script, `#!/bin/sh\necho $$ > "${pidFile}"\nexec sleep 60\n`, { mode: 0o755 });
  const { config } = setup("interrupt", { commands: { sleeper: { argv: [script], timeoutSeconds: 120 } } });
  for (const [mode, args] of [
    ["work", ["work", "--sleep", "0.3", "--grace", "1"]],
    ["run", ["run", "--grace", "1"]],
  ] as const) {
    fs.rmSync(pidFile, { force: true });
    const ref = await env.db.insertJob("command", { command: "sleeper" });
    const child = startCli([...args], { config });
    const ended = collect(child, 60_000);
    const pid = await waitFor(
      () => (fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, "utf8")) || undefined : undefined),
      `${mode}: the sleeper to start`,
      15_000,
    );
    child.kill("SIGTERM");
    const result = await ended;
    assert.equal(result.code, 0, `${mode} should exit 0 on SIGTERM:\n${tail(result.stderr)}`);
    const after = await row(ref);
    assert.equal(after.status, "pending", `${mode}: an interrupted job goes back to pending, never stays running`);
    assert.equal(after.attempts, 0, `${mode}: the interrupted attempt is not counted`);
    assert.equal(after.lease_until, null);
    assert.match(after.log ?? "", /interrupted: SIGTERM: grace period of 1 s over; back to pending/);
    await waitFor(() => !isAlive(pid), `${mode}: the job's subprocess ${pid} to be killed`, 5000);
    await env.db.query("DELETE FROM job_queue");
  }
});

test("--stop-when-empty drains the queue, writes the metrics textfile and exits 0; --max-time and --memory end an idle worker with exit 0", async () => {
  const metricsFile = path.join(env.dir, "worker.prom");
  const { config, recordFile } = setup("limits", { metrics: { textfile: metricsFile } });
  for (let i = 0; i < 5; i++) await env.db.insertJob("record", { file: recordFile });
  const drained = await runCli(["work", "--stop-when-empty", "--sleep", "0.2"], { config, timeoutMs: 60_000 });
  assert.equal(drained.code, 0, tail(drained.stderr));
  assert.match(drained.stderr, /worker stopped \(queue empty\): 5 complete/);
  assert.equal(linesOf(recordFile).length, 5);
  assert.match(fs.readFileSync(metricsFile, "utf8"), /^offline_jobs_last_run_jobs\{outcome="complete"\} 5$/m, "a worker writes metrics.textfile too");

  const timed = await runCli(["work", "--max-time", "1", "--sleep", "0.2"], { config, timeoutMs: 30_000 });
  assert.equal(timed.code, 0, tail(timed.stderr));
  assert.match(timed.stderr, /worker stopped \(--max-time reached\)/);

  const memory = await runCli(["work", "--memory", "1", "--sleep", "0.2"], { config, timeoutMs: 30_000 });
  assert.equal(memory.code, 0, tail(memory.stderr));
  assert.match(memory.stderr, /worker stopped \(memory limit: \d+ MB used, --memory is 1 MB\)/);
});

test("in maintenance mode `run` claims nothing and says so, `work` waits until the flag file is gone, and --force overrides", async () => {
  const flag = path.join(env.dir, "MAINTENANCE");
  fs.writeFileSync(flag, "upgrading\n");
  const { config, recordFile } = setup("maintenance", { maintenance: flag });
  const ref = await env.db.insertJob("record", { file: recordFile });

  const refused = await runCli(["run"], { config });
  assert.equal(refused.code, 0, tail(refused.stderr));
  assert.match(refused.stderr, /maintenance mode \(the maintenance flag file .*MAINTENANCE exists\): nothing run/);
  assert.equal((await row(ref)).status, "pending", "nothing is claimed in maintenance mode");
  assert.equal((await runCli(["run", "--job", String(ref)], { config })).code, 1, "run --job in maintenance mode says the job was not run");

  const worker = startCli(["work", "--sleep", "0.3"], { config });
  const output = stderrOf(worker);
  const ended = collect(worker, 60_000);
  await waitForWorker(() => /maintenance mode .* claiming nothing/.test(output()), "the worker to say it is in maintenance mode", output);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal((await row(ref)).status, "pending", "a worker in maintenance mode claims nothing");
  fs.rmSync(flag);
  await waitFor(async () => (await row(ref)).status === "complete", "the worker to run the job once maintenance is over", 15_000);
  worker.kill("SIGTERM");
  const result = await ended;
  assert.equal(result.code, 0, tail(result.stderr));

  fs.writeFileSync(flag, "again\n");
  const second = await env.db.insertJob("record", { file: recordFile });
  const forced = await runCli(["run", "--force"], { config });
  assert.equal(forced.code, 0, tail(forced.stderr));
  assert.equal((await row(second)).status, "complete", "--force runs despite maintenance mode");
});

test("an idle worker starts a job an application INSERTs within a moment, not after --sleep", async () => {
  const { config } = setup("pick-up");
  // --sleep 60: only the watch for new rows can explain a start within seconds.
  const worker = startCli(["work", "--sleep", "60", "--max-jobs", "1"], { config });
  const output = stderrOf(worker);
  const ended = collect(worker, 60_000);
  try {
    await waitForWorker(() => /looking again every 60 s|worker .* started/.test(output()), "the worker to start", output);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // idle: its first claim found nothing
    const ref = await env.db.insertJob("noop", {});
    await waitForWorker(async () => (await row(ref)).status === "complete", `job ${ref} to run`, output);
    const [{ ms }] = (await env.db.query<{ ms: string }>(
      "SELECT TIMESTAMPDIFF(MICROSECOND, created_at, started_at) / 1000 AS ms FROM job_queue WHERE ref = ?",
      [ref],
    )) as [{ ms: string }];
    // The watch looks every 100–200 ms; 2 s leaves room for a loaded machine, and is 30 times less than --sleep.
    assert.ok(Number(ms) < 2000, `the job started ${ms} ms after its INSERT`);
  } finally {
    await runCli(["restart"], { config });
    await ended;
  }
});
