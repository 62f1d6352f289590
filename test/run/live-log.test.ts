import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { collect, startCli, waitFor } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * `show ID --follow`: the log of a long job reaches its row while the job runs, in
 * order, each piece once — and a short job's log is still written once, with its outcome.
 */

const env = useTestEnvironment("oj-live-log-");

// The flusher writes jobs that have run 2 s at its next 2-s tick, so by 4 s at the latest:
// the job runs 6 s, which leaves the test 2 s to see its first line while it still runs.
test("a long job's output is in its row while it runs, and the final log holds every line once, in order", async () => {
  const script = path.join(env.dir, "talker.sh");
  fs.writeFileSync(script, "#!/bin/sh\necho first-line\nsleep 3\necho second-line\nsleep 3\necho third-line\n", { mode: 0o755 });
  const config = hostConfig(env, "host-a", { leaseSeconds: 10, commands: { talker: { argv: [script] } } });
  const ref = await env.db.insertJob("command", { command: "talker" });
  const run = startCli(["run"], { config });
  const ended = collect(run, 60_000);
  const whileRunning = await waitFor(
    async () => {
      const [row] = await env.db.query<{ status: string; log: string | null }>("SELECT status, log FROM job_queue WHERE ref = ?", [ref]);
      return row?.status === "running" && row.log?.includes("first-line") ? row.log : undefined;
    },
    "the first line of output to reach the row while the job runs",
    15_000,
  );
  assert.doesNotMatch(whileRunning, /third-line/, "the row was read while the job still ran");
  const result = await ended;
  assert.equal(result.code, 0, tail(result.stderr));
  const [row] = await env.db.query<{ status: string; log: string }>("SELECT status, log FROM job_queue WHERE ref = ?", [ref]);
  assert.equal(row!.status, "complete");
  const order = ["attempt 1 of", "first-line", "second-line", "third-line", "complete in"].map((text) => row!.log.indexOf(text));
  assert.ok(
    order.every((at) => at >= 0),
    `every line is in the final log:\n${row!.log}`,
  );
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
    `the lines are in order:\n${row!.log}`,
  );
  for (const text of ["first-line", "second-line", "third-line", "attempt 1 of"]) {
    assert.equal(row!.log.split(text).length - 1, 1, `"${text}" appears once:\n${row!.log}`);
  }
});
