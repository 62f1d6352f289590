import assert from "node:assert/strict";
import { test } from "node:test";
import { collect, killTree, startCli, waitFor } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * `show ID --follow` (docs/operations.md, "Looking at jobs"): prints a job's log and state as they change until the job
 * ends, then one status line; exit 0 complete, 1 failed or cancelled, as `add --wait`.
 */

let config: string;
const env = useTestEnvironment("oj-follow-", (e) => {
  config = hostConfig(e, "follower", {
    // printf joins the words, so the lines it prints differ from the argv the job log also records.
    commands: {
      talk: { argv: ["sh", "-c", "printf '%s-%s\\n' hello {name}; sleep 1; printf '%s-%s\\n' goodbye {name}"], args: { name: { pattern: "[a-z]+" } } },
    },
  });
});

/** Starts `show REF --follow` and gives its output so far while it runs. */
function follow(ref: number) {
  const child = startCli(["show", String(ref), "--follow"], { config });
  let stdout = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  const done = collect(child, 60_000);
  return { child, done, output: () => stdout };
}

const count = (text: string, part: string) => text.split(part).length - 1;

test("show --follow on a job a concurrent run executes prints its state and log, then 'complete', and exits 0", { timeout: 60_000 }, async () => {
  const ref = await env.db.insertJob("command", { command: "talk", args: { name: "ada" } });
  const follower = follow(ref);
  try {
    await waitFor(() => follower.output().includes("pending, waiting for a worker"), "follow to see the pending job");
    const run = await collect(startCli(["run"], { config }), 30_000);
    assert.equal(run.code, 0, `the run failed: ${tail(run.stderr)}`);
    const result = await follower.done;
    assert.equal(result.code, 0, `follow of a complete job exits 0; stderr:\n${tail(result.stderr)}`);
    const out = follower.output();
    assert.match(out, new RegExp(`\\[job ${ref}: running, attempt 1 .*on follower:\\d+\\]`), `the start of the attempt is shown:\n${out}`);
    assert.equal(count(out, "hello-ada"), 1, `the command's output is printed once:\n${out}`);
    assert.ok(out.indexOf("hello-ada") < out.indexOf("goodbye-ada"), "in order");
    assert.match(
      out,
      new RegExp(`job ${ref} complete: Job ${ref} \\(command\\) is complete\\.\\n$`),
      `the last line is the final status with the notice:\n${out}`,
    );
  } finally {
    killTree(follower.child);
  }
});

test("show --follow exits 1 with the error when the job fails", { timeout: 60_000 }, async () => {
  const ref = await env.db.insertJob("noop", { fail: "permanent" });
  const follower = follow(ref);
  try {
    await waitFor(() => follower.output().includes("pending"), "follow to start");
    const run = await collect(startCli(["run"], { config }), 30_000);
    assert.equal(run.code, 0, `the run itself succeeds: ${tail(run.stderr)}`);
    const result = await follower.done;
    assert.equal(result.code, 1, "follow of a failed job exits 1");
    assert.match(follower.output(), new RegExp(`job ${ref} failed: noop was asked to fail permanently\\n$`));
  } finally {
    killTree(follower.child);
  }
});

test("show --follow prints only new log text, also after the log's front was cut, and progress changes", { timeout: 60_000 }, async () => {
  // No worker here: the test writes the row as a runner would, so every step is certain.
  const filler = "x".repeat(100);
  const ref = await env.db.insertJob("record", {}, { log: `${filler}\nalpha\n`, run_after: new Date(Date.now() + 3600_000) });
  const follower = follow(ref);
  const seen = (part: string) => waitFor(() => follower.output().includes(part), `follow to print ${part}; so far:\n${follower.output()}`);
  try {
    await seen("alpha");
    await env.db.query(
      "UPDATE job_queue SET status = 'running', attempts = 1, locked_by = 'elsewhere:7', progress = 40, lease_until = NOW() + INTERVAL 1 HOUR WHERE ref = ?",
      [ref],
    );
    await seen(`[job ${ref}: 40%]`);
    await env.db.query("UPDATE job_queue SET log = CONCAT(log, 'beta\\n'), progress = 70 WHERE ref = ?", [ref]);
    await seen("beta");
    await seen(`[job ${ref}: 70%]`);
    // The cap drops the oldest text: the length stays about the same while new text arrives.
    await env.db.query("UPDATE job_queue SET log = CONCAT(SUBSTRING(log, 20), 'gamma\\n') WHERE ref = ?", [ref]);
    await seen("gamma");
    await env.db.query(
      "UPDATE job_queue SET status = 'complete', lease_until = NULL, finished_at = NOW(3), result = ?, log = CONCAT(log, 'delta\\n') WHERE ref = ?",
      [JSON.stringify({ notice: "all done" }), ref],
    );
    const result = await follower.done;
    assert.equal(result.code, 0, tail(result.stderr));
    const out = follower.output();
    for (const word of ["alpha", "beta", "gamma", "delta"]) assert.equal(count(out, word), 1, `${word} printed exactly once:\n${out}`);
    assert.equal(count(out, filler), 1, "the old text is not printed again after the cut");
    assert.doesNotMatch(out, /dropped/, "the printed text was still in the log: no gap to report");
    assert.match(out, new RegExp(`delta\\njob ${ref} complete: all done\\n$`));
  } finally {
    killTree(follower.child);
  }
});
