import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { JobEndedError, submit, submitBatch, SubmitTimeoutError } from "../../src/index.js";
import { runCli, writeConfig } from "../helpers/cli.js";
import { useTestEnvironment } from "../helpers/environment.js";

/**
 * The library's submit-and-wait (Islandora's islandora_job_submit and _batch): the job is run
 * by a real `offline-jobs run` process, as cron would, while the application's call waits.
 */

const env = useTestEnvironment("oj-submit-");
let configPath: string;

function config(): string {
  configPath ??= writeConfig(env.dir, { database: { url: env.db.url }, lockDir: path.join(env.dir, "locks") });
  return configPath;
}

/** Runs the queue once, as cron does, a moment after the caller started waiting. */
async function runQueueSoon(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  const run = await runCli(["run"], { config: config() });
  assert.equal(run.code, 0, run.stderr);
}

test("submit resolves to the job's result once a run has completed it", async () => {
  const [result] = await Promise.all([submit({ type: "noop", data: { sleepMs: 10 }, successText: "done {ref}" }, { configPath: config() }), runQueueSoon()]);
  assert.equal(typeof result, "object", `the parsed result column, got ${JSON.stringify(result)}`);
  assert.match(JSON.stringify(result), /"notice":"done \d+"/, "the result carries the rendered notice");
});

test("submit rejects with the job's error when it fails", async () => {
  const [outcome] = await Promise.allSettled([submit({ type: "noop", data: { fail: "permanent" } }, { configPath: config() }), runQueueSoon()]);
  assert.equal(outcome.status, "rejected");
  const error = (outcome as PromiseRejectedResult).reason as unknown;
  assert.ok(error instanceof JobEndedError, `a JobEndedError, got ${String(error)}`);
  assert.equal(error.end.status, "failed");
  assert.match(error.message, /^job \d+ failed: noop was asked to fail permanently$/);
});

test("submit gives up after timeoutMs with the job left queued", async () => {
  const outcome = await submit({ type: "noop" }, { configPath: config(), timeoutMs: 300 }).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(outcome instanceof SubmitTimeoutError, `a SubmitTimeoutError, got ${String(outcome)}`);
  const [row] = await env.db.query<{ status: string }>("SELECT status FROM job_queue WHERE ref = ?", [outcome.refs[0]]);
  assert.equal(row!.status, "pending", "the job stays in the queue for a later run");
  await runCli(["run"], { config: config() });
});

test("submitBatch waits for every job and says whether all completed, each job's end in order", async () => {
  const jobs = [{ type: "noop" }, { type: "noop", data: { fail: "permanent" } }, { type: "noop", data: { sleepMs: 50 } }];
  const [outcome] = await Promise.all([submitBatch(jobs, { configPath: config() }), runQueueSoon()]);
  assert.equal(outcome.allComplete, false, "one job failed");
  assert.deepEqual(
    outcome.ends.map((end) => end.status),
    ["complete", "failed", "complete"],
  );
  assert.deepEqual(outcome.unfinished, []);
  const [good] = await Promise.all([submitBatch([{ type: "noop" }, { type: "noop" }], { configPath: config() }), runQueueSoon()]);
  assert.equal(good.allComplete, true);
});
