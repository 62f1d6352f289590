import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { collect, linesOf, startCli } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * docs/architecture.md, "The claim protocol": `types.<t>.concurrency: 1` means at most one running job of that type across
 * all hosts, enforced in the database; other types keep using the free slots.
 */

const env = useTestEnvironment("oj-type-concurrency-");

const RECORD_JOBS = 20;
const NOOP_JOBS = 6;
/** The largest number of [start, end) intervals that overlap at one instant. */
function peakOverlap(intervals: Array<[number, number]>): number {
  const edges = intervals.flatMap(([start, end]) => [[start, 1] as const, [end, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, step] of edges) peak = Math.max(peak, (now += step));
  return peak;
}

test("per-type concurrency: 1 holds across two hosts", { timeout: 30_000 }, async (t) => {
  const recordFile = path.join(env.dir, "runs.txt");
  const runningDir = path.join(env.dir, "running");
  const peakFile = path.join(env.dir, "peak.txt");
  fs.mkdirSync(runningDir);
  const record = JSON.stringify({ file: recordFile, sleepMs: 100, runningDir, peakFile });
  // Unlimited noop jobs interleaved with the limited ones, same priority.
  const rows: string[][] = [];
  for (let i = 0; i < RECORD_JOBS; i++) {
    rows.push(["record", record]);
    if (i % 3 === 1 && rows.length < RECORD_JOBS + NOOP_JOBS) rows.push(["noop", JSON.stringify({ sleepMs: 300 })]);
  }
  assert.equal(rows.length, RECORD_JOBS + NOOP_JOBS);
  await env.db.query("INSERT INTO job_queue (type, job_data) VALUES ?", [rows]);

  const configs = [hostConfig(env, "host-a", { types: { record: { concurrency: 1 } } }), hostConfig(env, "host-b", { types: { record: { concurrency: 1 } } })];
  const runs = [0, 1, 2, 3].map((i) => collect(startCli(["run", "--max-jobs", "3"], { config: configs[i % 2]! }), 25_000));
  const results = await Promise.all(runs);
  results.forEach((result, i) => assert.equal(result.code, 0, `run ${i} exited ${result.code ?? result.signal}; stderr:\n${tail(result.stderr)}`));

  // The limit itself: never two record jobs at once, on either host.
  const observed = linesOf(peakFile).map(Number);
  assert.equal(Math.max(...observed), 1, `record jobs (concurrency 1) ran ${Math.max(...observed)} at once somewhere (samples: ${observed.join(" ")})`);
  const records = linesOf(recordFile).map((line) => line.split(" ")[0]);
  assert.equal(new Set(records).size, records.length, `no record job should have run twice: ${records.join(" ")}`);

  const hosts = await env.db.query<{ host: string }>(
    "SELECT DISTINCT SUBSTRING_INDEX(locked_by, ':', 1) AS host FROM job_queue WHERE locked_by IS NOT NULL ORDER BY host",
  );
  t.diagnostic(`hosts that ran jobs: ${hosts.map((h) => h.host).join(", ")}`);

  // The limit is per type: the noop jobs still shared the free slots with each other.
  const noops = await env.db.query<{ s: number; f: number }>(
    "SELECT UNIX_TIMESTAMP(started_at) * 1000 AS s, UNIX_TIMESTAMP(finished_at) * 1000 AS f FROM job_queue WHERE type = 'noop' AND status = 'complete'",
  );
  const noopPeak = peakOverlap(noops.map((n) => [Number(n.s), Number(n.f)]));
  t.diagnostic(`noop peak concurrency ${noopPeak}`);
  assert.ok(noopPeak >= 2, `unlimited noop jobs should run in parallel while record jobs are serialised, but at most ${noopPeak} ran at once`);

  // And the runs drained the queue: a run exits only when nothing due is left.
  const statuses = await env.db.query<{ type: string; status: string; n: number }>(
    "SELECT type, status, COUNT(*) AS n FROM job_queue GROUP BY type, status ORDER BY type, status",
  );
  assert.deepEqual(
    statuses.map((s) => `${s.type} ${s.status}: ${s.n}`),
    [`noop complete: ${NOOP_JOBS}`, `record complete: ${RECORD_JOBS}`],
    `every job should be complete once all runs have exited 0 (a run must not leave due jobs behind); stderr of the runs:\n` +
      results.map((r, i) => `--- run ${i}\n${tail(r.stderr, 6)}`).join("\n"),
  );
});
