import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { hostConfig, useTestEnvironment } from "../helpers/environment.js";

/**
 * types.<name>.enabled: false turns a built-in type off on one host (docs/configuration.md,
 * "types"). Its rows are not this host's to touch: they stay pending, unclaimed and
 * unattempted, for a host that runs the type, whatever way this host is asked to run.
 */

const env = useTestEnvironment("oj-disabled-type-");

async function rowOf(ref: number) {
  const [row] = await env.db.query<{ status: string; attempts: number; locked_by: string | null; error: string | null }>(
    "SELECT status, attempts, locked_by, error FROM job_queue WHERE ref = ?",
    [ref],
  );
  return row!;
}

test("a type disabled on a host is never claimed there: its rows stay pending for a host that runs it", async () => {
  const off = hostConfig(env, "host-a", { types: { noop: { enabled: false } } });
  const on = hostConfig(env, "host-b");
  const recordFile = path.join(env.dir, "record.runs");
  const ref = await env.db.insertJob("noop", {});
  const other = await env.db.insertJob("record", { file: recordFile });
  const untouched = { status: "pending", attempts: 0, locked_by: null, error: null };

  const run = await runCli(["run"], { config: off });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual({ ...(await rowOf(ref)) }, untouched, "a cron run on the host claimed the disabled type");
  assert.equal((await rowOf(other)).status, "complete", "the host still runs its other types");

  const single = await runCli(["run", "--job", String(ref)], { config: off });
  assert.equal(single.code, 1, "run --job of a disabled type reports that it was not run");
  assert.match(single.stderr, /its type noop is disabled on this host \(types\.noop\.enabled is false\): left pending/);
  assert.deepEqual({ ...(await rowOf(ref)) }, untouched, "run --job claimed the disabled type");

  const typed = await runCli(["run", "--type", "noop"], { config: off });
  assert.equal(typed.code, 0, typed.stderr);
  assert.match(typed.stderr, /--type noop: disabled on this host \(types\.<name>\.enabled is false\), so not claimed here/);
  const worker = await runCli(["work", "--stop-when-empty"], { config: off });
  assert.equal(worker.code, 0, worker.stderr);
  assert.deepEqual({ ...(await rowOf(ref)) }, untouched, "the worker claimed the disabled type");

  const types = await runCli(["types", "noop"], { config: off });
  assert.match(types.stdout, /^noop\n.*\n {2}disabled on this host \(types\.noop\.enabled is false\): its jobs wait for another host$/m, types.stdout);
  const json = JSON.parse((await runCli(["types", "--json"], { config: off })).stdout) as Array<{ name: string; enabled: boolean }>;
  assert.deepEqual(
    json.filter((type) => !type.enabled).map((type) => type.name),
    ["noop"],
  );
  const doctor = await runCli(["doctor"], { config: off });
  assert.match(doctor.stdout, /handlers .*; disabled on this host \(types\.<name>\.enabled is false\): noop$/m, doctor.stdout);

  const elsewhere = await runCli(["run"], { config: on });
  assert.equal(elsewhere.code, 0, elsewhere.stderr);
  assert.equal((await rowOf(ref)).status, "complete", "a host with the type enabled runs it");
  assert.equal(fs.readFileSync(recordFile, "utf8").trim().split("\n").length, 1, "the other job ran once");
});
