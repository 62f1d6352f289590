import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { ROOT, RECORD_HANDLER, runCli } from "../helpers/cli.js";
import { hostConfig, useTestEnvironment } from "../helpers/environment.js";

/**
 * A handler module named in the config steers its job with the library's error classes
 * (docs/architecture.md, "Errors"), although the command runs from its own bundle and the
 * module imports the package's entry: the two copies of each class are recognised as one.
 */

const env = useTestEnvironment("oj-handler-errors-");
const THROWING_HANDLER = path.join(ROOT, "dist/test/fixtures/throwing-handler.js");

test("a handler module's PermanentError fails its job at once, and its TransientError puts it back for a retry", async () => {
  const config = hostConfig(env, "host-a", { handlers: [RECORD_HANDLER, THROWING_HANDLER] });
  const permanent = await env.db.insertJob("throws", { error: "permanent" }, { max_attempts: 5 });
  const transient = await env.db.insertJob("throws", { error: "transient" }, { max_attempts: 5 });
  const run = await runCli(["run"], { config });
  assert.equal(run.code, 0, run.stderr);
  const rows = await env.db.query<{ ref: number; status: string; attempts: number; error: string }>(
    "SELECT ref, status, attempts, error FROM job_queue ORDER BY ref",
  );
  const byRef = new Map(rows.map((row) => [Number(row.ref), row]));
  assert.deepEqual(
    { ...byRef.get(permanent)! },
    { ref: permanent, status: "failed", attempts: 1, error: "the archive says this item was withdrawn" },
    "a PermanentError from a handler module was not taken for one: the job was not failed at once",
  );
  assert.equal(byRef.get(transient)!.status, "pending", "a TransientError from a handler module should put its job back for a retry");
  assert.equal(byRef.get(transient)!.attempts, 1);
});

test("instanceof still tells a subclass from its base", async () => {
  const { PermanentError } = await import("../../src/index.js");
  class Withdrawn extends PermanentError {}
  assert.ok(new Withdrawn("gone") instanceof PermanentError);
  assert.ok(!(new PermanentError("gone") instanceof Withdrawn), "a base-class error passed for a subclass");
  assert.ok(!(new Error("plain") instanceof PermanentError));
});
