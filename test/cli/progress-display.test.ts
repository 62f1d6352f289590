import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { BIN, runCli, writeConfig } from "../helpers/cli.js";
import { useTestEnvironment } from "../helpers/environment.js";

/**
 * Progress bars only on a terminal — the run as a whole (n of m jobs) and each long
 * job's own progress — drawn on one status line under the log; nothing of the kind when stderr
 * is a pipe (cron mail, journald), where the log is plain JSON lines.
 */

const env = useTestEnvironment("oj-progress-");
const ESC = "\u001b[K";

/** Runs the CLI under a pseudo-terminal made by util-linux `script`, 120 columns wide. */
async function runOnTerminal(args: string[]): Promise<string> {
  const command = `stty cols 120 2>/dev/null; ${[BIN, ...args].map((a) => `'${a}'`).join(" ")}`;
  const { stdout } = await promisify(execFile)("script", ["-qec", command, "/dev/null"], { encoding: "utf8", timeout: 60_000 });
  return stdout;
}

const hasScript = await promisify(execFile)("script", ["--version"]).then(
  () => true,
  () => false,
);

test(
  "on a terminal a run draws 'n/m jobs' and each running job's progress on a status line under the log",
  { skip: hasScript ? false : "util-linux `script` is not installed" },
  async () => {
    const config = writeConfig(env.dir, { database: { url: env.db.url }, lockDir: path.join(env.dir, "locks") });
    for (let i = 0; i < 6; i++) await env.db.insertJob("noop", { sleepMs: 400 });
    const out = await runOnTerminal(["run", "--config", config, "--max-jobs", "2"]);
    assert.ok(out.includes(ESC), `the status line is erased and redrawn in place:\n${JSON.stringify(out.slice(0, 500))}`);
    assert.match(out, /\[[#-]{24}\] \d\/6 jobs · #\d+ noop/, "the whole run's bar, n of m jobs, and the running jobs");
    assert.match(out, /\d\d:\d\d:\d\d job \d+ noop complete/, "log lines still appear, above the status line");
    const lastLine = out.trimEnd().split(/\r?\n/).pop()!;
    assert.match(lastLine, /done in [\d.]+ s with \d+ slot\(s\): 6 complete/, "the status line is removed at the end, leaving the summary last");
    assert.doesNotMatch(lastLine.split(ESC).pop()!, /\[[#-]+\]/, "no bar is left behind after the summary");
  },
);

test("off a terminal there is no status line: the log is JSON lines without escape codes", async () => {
  const config = writeConfig(env.dir, { database: { url: env.db.url }, lockDir: path.join(env.dir, "locks") }, "pipe.json");
  await env.db.insertJob("noop", {});
  const run = await runCli(["run"], { config });
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /\u001b|\r/, "no terminal control characters in piped output");
  for (const line of run.stderr.trim().split("\n")) assert.doesNotThrow(() => JSON.parse(line), `a JSON line: ${line}`);
});

test(
  "the run's total stays the number of jobs: finished jobs are not counted again among the due ones",
  { skip: hasScript ? false : "util-linux `script` is not installed" },
  async () => {
    const config = writeConfig(env.dir, { database: { url: env.db.url }, lockDir: path.join(env.dir, "locks") }, "total.json");
    await env.db.query("DELETE FROM job_queue");
    for (let i = 0; i < 5; i++) await env.db.insertJob("noop", { sleepMs: 150 });
    const out = await runOnTerminal(["run", "--config", config, "--max-jobs", "2"]);
    const totals = [...out.matchAll(/\] (\d+)\/(\d+) jobs/g)].map((m) => `${m[1]}/${m[2]}`);
    assert.ok(totals.length > 0, `the bar was drawn:\n${JSON.stringify(out.slice(0, 500))}`);
    assert.deepEqual(
      totals.filter((t) => !t.endsWith("/5")),
      [],
      `every "n/m jobs" of a 5-job run has m = 5; seen: ${totals.join(", ")}`,
    );
    assert.ok(totals.includes("5/5"), `the bar reaches 5/5; seen: ${totals.join(", ")}`);
  },
);
