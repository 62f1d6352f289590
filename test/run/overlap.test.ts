import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { collect, startCli } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * docs/architecture.md, "The claim protocol": overlapping cron runs on several hosts share one table; the database
 * claim (FOR UPDATE SKIP LOCKED, fenced finish) guarantees each job runs once.
 */

const env = useTestEnvironment("oj-overlap-");

const JOBS = 1200;
test("4 overlapping runs on 2 simulated hosts drain 1,200 jobs and every job runs exactly once", { timeout: 60_000 }, async (t) => {
  const recordFile = path.join(env.dir, "runs.txt");
  // 0–5 ms each, priorities 0–2 mixed, inserted the way an application enqueues.
  const rows = Array.from({ length: JOBS }, (_, i) => ["record", JSON.stringify({ file: recordFile, sleepMs: i % 6 }), i % 3]);
  await env.db.query("INSERT INTO job_queue (type, job_data, priority) VALUES ?", [rows]);
  const refs = (await env.db.query<{ ref: number }>("SELECT ref FROM job_queue ORDER BY ref")).map((r) => Number(r.ref));
  assert.equal(refs.length, JOBS);

  const configs = [hostConfig(env, "host-a"), hostConfig(env, "host-b")];
  const runs = [0, 1, 2, 3].map((i) => {
    const config = configs[i % 2]!;
    return { host: i % 2 ? "host-b" : "host-a", result: collect(startCli(["run", "--max-jobs", "3"], { config }), 50_000) };
  });
  const results = await Promise.all(runs.map((r) => r.result));
  results.forEach((result, i) => {
    assert.equal(result.code, 0, `run ${i} on ${runs[i]!.host} exited ${result.code ?? result.signal}; stderr:\n${tail(result.stderr)}`);
  });

  const byStatus = await env.db.query<{ status: string; attempts: number; n: number }>(
    "SELECT status, attempts, COUNT(*) AS n FROM job_queue GROUP BY status, attempts ORDER BY status, attempts",
  );
  const summary = byStatus.map((r) => `${r.status}/attempts=${r.attempts}: ${r.n}`).join(", ");
  assert.deepEqual(
    byStatus.map((r) => ({ status: r.status, attempts: Number(r.attempts), n: Number(r.n) })),
    [{ status: "complete", attempts: 1, n: JOBS }],
    `every job should be complete after exactly one attempt; the table holds ${summary}`,
  );

  const seen = new Map<number, number>();
  for (const line of fs.readFileSync(recordFile, "utf8").split("\n")) {
    if (!line) continue;
    const ref = Number(line.split(" ")[0]);
    seen.set(ref, (seen.get(ref) ?? 0) + 1);
  }
  const duplicates = [...seen].filter(([, n]) => n > 1).map(([ref, n]) => `${ref}×${n}`);
  const missing = refs.filter((ref) => !seen.has(ref));
  const strangers = [...seen.keys()].filter((ref) => !refs.includes(ref));
  assert.deepEqual(
    { duplicates, missing, strangers },
    { duplicates: [], missing: [], strangers: [] },
    `each job's handler must run exactly once: ${duplicates.length} ran more than once (${duplicates.slice(0, 20).join(", ")}), ` +
      `${missing.length} never ran (${missing.slice(0, 20).join(", ")})`,
  );

  const hosts = await env.db.query<{ host: string; n: number }>(
    "SELECT SUBSTRING_INDEX(locked_by, ':', 1) AS host, COUNT(*) AS n FROM job_queue GROUP BY host ORDER BY host",
  );
  const perHost = Object.fromEntries(hosts.map((h) => [h.host, Number(h.n)]));
  const perProcess = await env.db.query<{ locked_by: string; n: number }>("SELECT locked_by, COUNT(*) AS n FROM job_queue GROUP BY locked_by");
  t.diagnostic(`jobs per process: ${perProcess.map((p) => `${p.locked_by}=${p.n}`).join(", ")}`);
  assert.ok(
    (perHost["host-a"] ?? 0) > 0 && (perHost["host-b"] ?? 0) > 0,
    `both hosts should have run jobs while overlapping; jobs per host: ${JSON.stringify(perHost)}`,
  );
});
