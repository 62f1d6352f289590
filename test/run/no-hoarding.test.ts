import assert from "node:assert/strict";
import { test } from "node:test";
import { collect, startCli } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * The claim's bound (docs/architecture.md, "The claim protocol"): what a process claims ahead of its free slots stays small, so one host
 * never hoards the queue. For jobs not known to be short, that is nothing ahead at all.
 */

const env = useTestEnvironment("oj-no-hoarding-");

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test("a host whose slots are busy with a long job leaves the next job to a host with a free slot", { timeout: 30_000 }, async () => {
  await env.db.query("INSERT INTO job_queue (type, job_data) VALUES ?", [
    [
      ["noop", JSON.stringify({ sleepMs: 2500 })],
      ["noop", JSON.stringify({ sleepMs: 2500 })],
    ],
  ]);
  const first = collect(startCli(["run", "--max-jobs", "1"], { config: hostConfig(env, "host-a") }), 25_000);
  await waitFor(async () => {
    const [row] = await env.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status = 'running'");
    return Number(row!.n) > 0;
  }, "host-a has claimed its first job");
  // host-a's only slot is busy for 2.5 s: the second job must still be in the table for host-b.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const pending = await env.db.query<{ ref: number }>("SELECT ref FROM job_queue WHERE status = 'pending'");
  assert.equal(pending.length, 1, "host-a, with its one slot busy, must not have claimed the second job ahead");
  const second = collect(startCli(["run", "--max-jobs", "1"], { config: hostConfig(env, "host-b") }), 25_000);
  const results = await Promise.all([first, second]);
  results.forEach((r, i) => assert.equal(r.code, 0, `run ${i} exited ${r.code ?? r.signal}:\n${tail(r.stderr)}`));
  const hosts = await env.db.query<{ host: string; status: string }>("SELECT SUBSTRING_INDEX(locked_by, ':', 1) AS host, status FROM job_queue ORDER BY ref");
  assert.deepEqual(
    hosts.map((h) => `${h.host} ${h.status}`),
    ["host-a complete", "host-b complete"],
    "each host must have run one of the two jobs",
  );
});
