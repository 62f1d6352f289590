import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { linesOf, runCli } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * Every numeric and time column of the job table at the limits its type accepts, written by an
 * application (SECURITY.md: whoever can INSERT is untrusted). Each row either runs, stays
 * pending (never due), or fails alone with one clear sentence; the rest of the queue runs,
 * each job once. Through the real CLI and the `record` handler, which traces every run.
 */

let config: string;
let trace: string;
const env = useTestEnvironment("oj-hostile-columns-", (e) => {
  config = hostConfig(e, "host-a");
  trace = path.join(e.dir, "runs.txt");
});

interface Row {
  label: string;
  columns: Record<string, unknown>;
  /** The status it must end in, and for a failure what its error must say. */
  status: "complete" | "failed" | "pending";
  error?: RegExp;
}

const LATEST = "9999-12-31 23:59:59.999";
const EARLIEST = "1000-01-01 00:00:00.000";

const ROWS: Row[] = [
  { label: "plain", columns: {}, status: "complete" },
  {
    label: "attempts at its maximum",
    columns: { attempts: 65535 },
    status: "failed",
    error: /^its attempts count is 65535, the most the column holds, so no further attempt can be counted and it was not run$/,
  },
  { label: "attempts one below its maximum", columns: { attempts: 65534 }, status: "complete" },
  { label: "attempts 0, max_attempts 0", columns: { attempts: 0, max_attempts: 0 }, status: "complete" },
  { label: "max_attempts at its maximum", columns: { max_attempts: 65535 }, status: "complete" },
  { label: "lowest priority number", columns: { priority: -32768 }, status: "complete" },
  { label: "highest priority number", columns: { priority: 32767 }, status: "complete" },
  { label: "run_after at the earliest", columns: { run_after: EARLIEST }, status: "complete" },
  { label: "run_after at the latest", columns: { run_after: LATEST }, status: "pending" },
  { label: "progress at its maximum", columns: { progress: 255 }, status: "complete" },
  { label: "a pending row with a lease at the latest", columns: { lease_until: LATEST, lock_token: "x".repeat(32), locked_by: "nobody" }, status: "complete" },
  { label: "timestamps at the limits", columns: { created_at: EARLIEST, started_at: LATEST, finished_at: LATEST }, status: "complete" },
  { label: "the longest job_code", columns: { job_code: "c".repeat(191) }, status: "complete" },
  // Running rows no process holds: recovery must take them, or they hold their job_code for ever.
  { label: "running with no lease", columns: { status: "running", lease_until: null, lock_token: null, job_code: "held-no-lease" }, status: "complete" },
  {
    label: "running with a lease at the latest",
    columns: { status: "running", lease_until: LATEST, lock_token: "y".repeat(32), job_code: "held-for-ever" },
    status: "complete",
  },
  { label: "running with a lease an hour ahead", columns: { status: "running", lease_until: "NOW+1H", lock_token: "z".repeat(32) }, status: "complete" },
  // With no start recorded (started_at NULL) a running row never ran: recovery re-queues it
  // without counting, and the claim then refuses it for its count.
  {
    label: "running with no lease, no start recorded and attempts at its maximum",
    columns: { status: "running", lease_until: null, attempts: 65535 },
    status: "failed",
    error: /^its attempts count is 65535, the most the column holds, so no further attempt can be counted and it was not run$/,
  },
  {
    label: "running with no lease, a start recorded and attempts at its maximum",
    columns: { status: "running", lease_until: null, attempts: 65535, started_at: EARLIEST },
    status: "failed",
    error: /^worker lost: lease expired$/,
  },
  {
    label: "running with no lease, a start recorded and attempts one below its maximum",
    columns: { status: "running", lease_until: null, attempts: 65534, started_at: LATEST, max_attempts: 65535 },
    status: "complete",
  },
];

test("rows at the limits of every numeric and time column each end alone, and every other job runs exactly once", { timeout: 120_000 }, async () => {
  const refs = new Map<number, Row>();
  for (const row of ROWS) {
    const { lease_until, ...columns } = row.columns;
    const ref = await env.db.insertJob("record", { file: trace }, columns);
    if (lease_until === "NOW+1H") await env.db.query("UPDATE job_queue SET lease_until = NOW(3) + INTERVAL 1 HOUR WHERE ref = ?", [ref]);
    else if (lease_until !== undefined) await env.db.query("UPDATE job_queue SET lease_until = ? WHERE ref = ?", [lease_until, ref]);
    refs.set(ref, row);
  }
  // Twice: the claim used to fail as a whole on attempts = 65535, so every run after the first failed as well.
  for (const round of [1, 2]) {
    const run = await runCli(["run"], { config, timeoutMs: 60_000 });
    assert.equal(run.code, 0, `run ${round} must go through the whole queue and exit 0:\n${tail(run.stderr)}`);
  }
  const runs = linesOf(trace).map((line) => Number(line.split(" ")[0]));
  for (const [ref, row] of refs) {
    const [found] = await env.db.query<{ status: string; error: string | null; job_code: string | null; active_code: string | null }>(
      "SELECT status, error, job_code, active_code FROM job_queue WHERE ref = ?",
      [ref],
    );
    assert.equal(found!.status, row.status, `${row.label} (job ${ref}) must end ${row.status}; error: ${found!.error}`);
    if (row.error) assert.match(found!.error ?? "", row.error, `${row.label}: its error must say why in one sentence`);
    const ran = runs.filter((r) => r === ref).length;
    assert.equal(
      ran,
      row.status === "complete" ? 1 : 0,
      `${row.label} (job ${ref}) must have run ${row.status === "complete" ? "once" : "never"}, ran ${ran} time(s)`,
    );
    if (row.status !== "pending") assert.equal(found!.active_code, null, `${row.label}: once ended it must no longer hold its job_code`);
  }
});
