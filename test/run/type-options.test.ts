import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { runCli, writeConfig } from "../helpers/cli.js";
import { tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * A type's options in the config (`types.<name>`) steer real runs: timeoutSeconds
 * stops a job that runs too long, maxAttempts and backoff decide how often and when it is
 * tried again, and a row's own max_attempts wins over the config.
 */

const env = useTestEnvironment("oj-type-options-");

interface Row {
  status: string;
  attempts: number;
  error: string | null;
  wait: number | null;
}

const row = async (ref: number) =>
  (await env.db.query<Row>("SELECT status, attempts, error, TIMESTAMPDIFF(SECOND, NOW(3), run_after) AS wait FROM job_queue WHERE ref = ?", [ref]))[0]!;

test("types.<name>: timeoutSeconds stops a long job, maxAttempts and backoff decide its retries", async () => {
  const config = writeConfig(env.dir, {
    database: { url: env.db.url },
    lockDir: path.join(env.dir, "locks"),
    types: { noop: { timeoutSeconds: 1, maxAttempts: 2, backoff: { initialSeconds: 300, maxSeconds: 600 } } },
  });
  const slow = await env.db.insertJob("noop", { sleepMs: 60_000 });
  const first = await runCli(["run"], { config, timeoutMs: 60_000 });
  assert.equal(first.code, 0, tail(first.stderr));
  const afterFirst = await row(slow);
  assert.equal(afterFirst.status, "pending", "a timed-out attempt is retried while attempts remain");
  assert.equal(afterFirst.attempts, 1);
  assert.match(afterFirst.error ?? "", /timed out after 1 s/);
  assert.ok(
    afterFirst.wait !== null && afterFirst.wait >= 235 && afterFirst.wait <= 360,
    `backoff.initialSeconds (300 ± 20% jitter) delays the retry; due in ${afterFirst.wait} s`,
  );

  await env.db.query("UPDATE job_queue SET run_after = NOW(3) WHERE ref = ?", [slow]);
  const second = await runCli(["run"], { config, timeoutMs: 60_000 });
  assert.equal(second.code, 0, tail(second.stderr));
  const afterSecond = await row(slow);
  assert.equal(afterSecond.status, "failed", "maxAttempts 2 from the config: the second timeout is final");
  assert.equal(afterSecond.attempts, 2);
  assert.match(afterSecond.error ?? "", /timed out after 1 s \(gave up after 2 attempts\)/);

  const own = await env.db.insertJob("noop", { fail: "transient" }, { max_attempts: 1 });
  await runCli(["run"], { config });
  assert.equal((await row(own)).status, "failed", "the row's max_attempts (1) wins over the type's (2)");
});
