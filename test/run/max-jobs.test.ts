import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { collect, linesOf, startCli } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * docs/architecture.md, "Locks on a host": `--max-jobs N` bounds the jobs running at once on one host, counting every
 * offline-jobs process there; a run that finds no free slot exits 0 with one info line.
 */

const env = useTestEnvironment("oj-max-jobs-");
const JOBS = 12;

test("--max-jobs 2 with 3 overlapping runs: observed peak concurrency is exactly 2", { timeout: 30_000 }, async (t) => {
  const config = hostConfig(env, "host-a");
  const recordFile = path.join(env.dir, "runs.txt");
  const runningDir = path.join(env.dir, "running");
  const peakFile = path.join(env.dir, "peak.txt");
  fs.mkdirSync(runningDir);
  const data = JSON.stringify({ file: recordFile, sleepMs: 150, runningDir, peakFile });
  await env.db.query("INSERT INTO job_queue (type, job_data) VALUES ?", [Array.from({ length: JOBS }, () => ["record", data])]);

  // All three at once: a run that finds every slot taken leaves at once.
  const children = [0, 1, 2].map(() => startCli(["run", "--max-jobs", "2"], { config }));
  const results = await Promise.all(children.map((child) => collect(child, 25_000)));
  results.forEach((result, i) => {
    assert.equal(result.code, 0, `run ${i} exited ${result.code ?? result.signal} (a run with no free slot must exit 0 too); stderr:\n${tail(result.stderr)}`);
  });
  const busy = results.filter((r) => /slot\(s\) on this host are busy/.test(r.stderr));
  t.diagnostic(`${busy.length} of 3 runs found no free slot`);
  for (const result of busy) {
    assert.equal(result.stderr.trim().split("\n").length, 1, `a run with no free slot should say so in one line, it printed:\n${result.stderr}`);
    assert.equal(result.stdout, "", "a run with no free slot should print nothing on stdout");
  }

  const statuses = await env.db.query<{ status: string; n: number }>("SELECT status, COUNT(*) AS n FROM job_queue GROUP BY status");
  assert.deepEqual(
    statuses.map((s) => [s.status, Number(s.n)]),
    [["complete", JOBS]],
    `all ${JOBS} jobs should be complete; the table holds ${JSON.stringify(statuses)}`,
  );

  const observed = linesOf(peakFile).map(Number);
  const peak = Math.max(...observed);
  assert.equal(peak, 2, `with --max-jobs 2 the jobs running at once on this host must peak at exactly 2, observed ${peak} (samples: ${observed.join(" ")})`);
  assert.deepEqual(fs.readdirSync(runningDir), [], "every job should have finished (no markers left)");
});
