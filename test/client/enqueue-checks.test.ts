import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { enqueue, InvalidJobError, submitBatch } from "../../src/index.js";
import { writeConfig } from "../helpers/cli.js";
import { useTestEnvironment } from "../helpers/environment.js";

/**
 * enqueue() and submit() check a new job as `add` does, with the same rules and words: a job
 * that would not run here is refused before anything is added.
 */

const env = useTestEnvironment("oj-enqueue-checks-");
let configPath: string;

function options(extra: Record<string, unknown> = {}) {
  configPath ??= writeConfig(env.dir, {
    database: { url: env.db.url },
    lockDir: path.join(env.dir, "locks"),
    commands: { hello: { argv: ["echo", "{name}"], args: { name: { pattern: "[a-z]+" } } } },
  });
  return { configPath, ...extra };
}

async function jobCount(): Promise<number> {
  const [row] = await env.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue");
  return Number(row!.n);
}

async function refusal(promise: Promise<unknown>): Promise<InvalidJobError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof InvalidJobError, `an InvalidJobError, got ${String(error)}`);
  return error;
}

test("enqueue() refuses an unknown type with the known ones, and adds it with force", async () => {
  const error = await refusal(enqueue({ type: "nop" }, options()));
  assert.match(error.message, /^unknown job type "nop" \(did you mean noop\?\): this config handles /);
  assert.equal(error.forceable, true);
  assert.equal(await jobCount(), 0);
  const [added] = await enqueue({ type: "nop" }, options({ force: true }));
  assert.ok(added!.ref > 0, "force adds it");
});

test("enqueue() refuses job_data its type's schema refuses, and a value its column cannot hold, force or not", async () => {
  await env.db.query("DELETE FROM job_queue");
  const data = await refusal(enqueue({ type: "noop", data: { sleepMs: "soon" } }, options({ force: true })));
  assert.match(data.message, /^job_data for noop is invalid: sleepMs: /);
  const priority = await refusal(enqueue({ type: "noop", priority: 40_000 }, options()));
  assert.equal(priority.message, "priority must be a whole number from -32768 to 32767");
  const code = await refusal(enqueue({ type: "noop", code: "x".repeat(192) }, options()));
  assert.equal(code.message, "code must be 1 to 191 characters");
  assert.equal(await jobCount(), 0, "nothing was added");
});

test("a batch names the job that would not run, and adds none of them", async () => {
  await env.db.query("DELETE FROM job_queue");
  const error = await refusal(submitBatch([{ type: "noop" }, { type: "command", data: { command: "helo" } }], options()));
  assert.match(error.message, /^job 2 of 2: unknown command template "helo" \(did you mean hello\?\): this config defines hello$/);
  assert.equal(await jobCount(), 0);
});
