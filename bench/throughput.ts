/**
 * Throughput benchmark (npm run bench): offline-jobs against the one-job-per-transaction
 * pattern of Laravel's database queue, on the same MariaDB/MySQL server in the same run, with
 * the server's durability settings untouched. Prints figures; asserts no timings. It fails
 * (exit 1) only if offline-jobs did not complete every job or something broke.
 *
 *   npm run bench                                     10,000 jobs, 3 runs of each side
 *   npm run bench -- --jobs 2000 --repeat 1           a quick version for CI
 *
 * Server: OFFLINE_JOBS_TEST_SERVER_URL (default mysql://root@127.0.0.1:3306), as for the tests.
 * Progress goes to stderr, the result table to stdout.
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { collect, killTree, makeTempDir, startCli, writeConfig, type CliResult } from "../test/helpers/cli.js";
import { createTestDatabase, type TestDatabase } from "../test/helpers/database.js";
import { configSchema } from "../src/config/schema.js";
import { measureColdStart } from "./cold-start.js";
import { cpuTimes, localServerPid, procCpuMs } from "./cpu-usage.js";
import { createLaravelJobsTable, drainLikeLaravel, fillLaravelJobs } from "./laravel-reference.js";
import { fillNoopJobs } from "./noop-jobs.js";
import { COUNTERS, report, type Context, type Counters, type Sample } from "./throughput-report.js";

const WORKERS = 8; // Laravel worker processes, and offline-jobs' --max-jobs
const COLD_RUNS = 11;
const TARGET_RATIO = 8;
/** A run whose claims ahead are capped lower than the default, to show what the cap is worth. */
const NARROW_PREFETCH = 4;
const DEFAULT_PREFETCH = configSchema.shape.prefetchFactor.parse(undefined);

let serverPid: number | undefined;

const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

function parseOptions(): { jobs: number; repeat: number } {
  const usage = "usage: node dist/bench/throughput.js [--jobs N (default 10000)] [--repeat N (default 3)]";
  const fail = (message: string): never => {
    console.error(`${message}\n${usage}`);
    process.exit(2);
  };
  let values: { jobs?: string; repeat?: string } = {};
  try {
    ({ values } = parseArgs({ options: { jobs: { type: "string", default: "10000" }, repeat: { type: "string", default: "3" } } }));
  } catch (error) {
    fail((error as Error).message);
  }
  const int = (name: string, text = "") => (/^\d+$/.test(text) && Number(text) >= 1 ? Number(text) : fail(`--${name}: must be a whole number >= 1`));
  return { jobs: int("jobs", values.jobs), repeat: int("repeat", values.repeat) };
}

async function readCounters(test: TestDatabase): Promise<Counters> {
  const rows = await test.query<{ Variable_name: string; Value: string }>(`SHOW GLOBAL STATUS WHERE Variable_name IN (${COUNTERS.map(() => "?").join(", ")})`, [
    ...COUNTERS,
  ]);
  const byName = new Map(rows.map((r) => [r.Variable_name.toLowerCase(), Number(r.Value)]));
  return Object.fromEntries(COUNTERS.map((c) => [c, byName.get(c.toLowerCase()) ?? NaN])) as Counters;
}

/** Runs `work` (which returns its wall time in ms) and turns counter and CPU deltas into per-job figures. */
async function measure(test: TestDatabase, jobs: number, client: "self" | "child", work: () => Promise<number>): Promise<Sample> {
  const before = await readCounters(test);
  const cpu = cpuTimes();
  const own = process.cpuUsage();
  const children = procCpuMs("self", "cutime");
  const server = procCpuMs(serverPid, "utime");
  const ms = await work();
  const cpuAfter = cpuTimes();
  const ownUsed = process.cpuUsage(own);
  const clientMs = client === "self" ? (ownUsed.user + ownUsed.system) / 1000 : procCpuMs("self", "cutime") - children;
  const serverMs = procCpuMs(serverPid, "utime") - server;
  const after = await readCounters(test);
  const perJob = Object.fromEntries(COUNTERS.map((c) => [c, (after[c] - before[c]) / jobs])) as Counters;
  const hostBusy = (cpuAfter.busy - cpu.busy) / Math.max(1, cpuAfter.total - cpu.total);
  return {
    ms,
    jobsPerSecond: (jobs / ms) * 1000,
    drainPerSecond: (jobs / ms) * 1000,
    perJob,
    clientCpuMs: clientMs / jobs,
    serverCpuMs: serverMs / jobs,
    hostBusy,
  };
}

/** The child process being waited for, so that Ctrl-C can take it down with us. */
let current: ChildProcess | undefined;

async function run(start: () => ChildProcess): Promise<CliResult & { ms: number }> {
  const started = performance.now();
  const child = (current = start());
  try {
    const result = await collect(child, 600_000);
    return { ...result, ms: performance.now() - started };
  } finally {
    current = undefined;
  }
}

const cli = (config: string, args: string[]) => run(() => startCli(args, { config }));

function expectSuccess(what: string, result: CliResult): void {
  if (result.code !== 0) {
    throw new Error(`${what} exited with ${result.code ?? result.signal}:\n${result.stderr.trim() || result.stdout.trim()}`);
  }
}

async function referenceRun(test: TestDatabase, jobs: number): Promise<Sample> {
  await fillLaravelJobs(test.db.pool, jobs);
  let perWorker: number[] = [];
  const sample = await measure(test, jobs, "self", async () => {
    const result = await drainLikeLaravel(test.url, WORKERS);
    perWorker = result.perWorker;
    return result.ms;
  });
  const [left] = await test.query<{ n: number }>("SELECT COUNT(*) AS n FROM jobs");
  const ran = perWorker.reduce((a, b) => a + b, 0);
  if (ran !== jobs || Number(left?.n) !== 0) throw new Error(`reference: ran ${ran} of ${jobs} jobs, ${left?.n} left in the table`);
  return sample;
}

/**
 * `heldReadView`: a second connection keeps a consistent snapshot open during the run, as a
 * backup (mysqldump --single-transaction) or a long report does. InnoDB cannot purge while it
 * is open, so the index entries of every claimed row stay behind, delete-marked: the run
 * shows what that costs a queue (ClaimCursor).
 */
async function offlineJobsRun(test: TestDatabase, config: string, jobs: number, heldReadView = false): Promise<Sample> {
  await fillNoopJobs(test, jobs);
  const snapshot = heldReadView ? await test.db.pool.getConnection() : undefined;
  let sample: Sample;
  try {
    if (snapshot) {
      await snapshot.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      await snapshot.query("START TRANSACTION WITH CONSISTENT SNAPSHOT");
      await snapshot.query("SELECT COUNT(*) FROM job_queue");
    }
    sample = await measure(test, jobs, "child", async () => {
      const result = await cli(config, ["run", "--max-jobs", String(WORKERS), "--quiet"]);
      expectSuccess("offline-jobs run", result);
      if (result.stderr.trim()) progress(`offline-jobs run wrote to stderr:\n${result.stderr.trim()}`);
      return result.ms;
    });
  } finally {
    await snapshot?.query("ROLLBACK");
    snapshot?.release();
  }
  const [span] = await test.query<{ ms: number }>("SELECT TIMESTAMPDIFF(MICROSECOND, MIN(started_at), MAX(finished_at)) / 1000 AS ms FROM job_queue");
  sample.drainPerSecond = (jobs / Number(span!.ms)) * 1000;
  // Halves need a job in each (--jobs 1 has none to split).
  if (jobs >= 2) {
    const half = Math.floor(jobs / 2);
    const [split] = await test.query<{ first: number; second: number }>(
      `SELECT TIMESTAMPDIFF(MICROSECOND, (SELECT MIN(started_at) FROM job_queue), middle) / 1000 AS first,
              TIMESTAMPDIFF(MICROSECOND, middle, (SELECT MAX(finished_at) FROM job_queue)) / 1000 AS second
         FROM (SELECT finished_at AS middle FROM job_queue ORDER BY finished_at LIMIT 1 OFFSET ?) AS m`,
      [half - 1],
    );
    sample.halves = [(half / Number(split!.first)) * 1000, ((jobs - half) / Number(split!.second)) * 1000];
  }
  const counts = await test.query<{ status: string; n: number }>("SELECT status, COUNT(*) AS n FROM job_queue GROUP BY status");
  const complete = Number(counts.find((c) => c.status === "complete")?.n ?? 0);
  if (complete !== jobs) {
    throw new Error(`offline-jobs completed ${complete} of ${jobs} jobs (by status: ${counts.map((c) => `${c.status} ${c.n}`).join(", ")})`);
  }
  return sample;
}

async function main(): Promise<void> {
  const options = parseOptions();
  progress(`creating a database; ${options.jobs} jobs per run, ${options.repeat} run(s) per side`);
  const dir = makeTempDir("oj-bench-");
  const test = await createTestDatabase({ migrate: false }).catch((error) => {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      if (current) killTree(current);
      fs.rmSync(dir, { recursive: true, force: true });
      await test.drop().catch((error) => console.error(`could not drop database ${test.name}: ${(error as Error).message}`));
      progress(`dropped database ${test.name}`);
    })());
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  try {
    const [info] = await test.query<{ v: string; f: string; s: string; b: string }>(
      "SELECT VERSION() AS v, @@innodb_flush_log_at_trx_commit AS f, @@sync_binlog AS s, @@log_bin AS b",
    );
    const server =
      `server ${info?.v}: innodb_flush_log_at_trx_commit=${info?.f}, log_bin=${info?.b}, sync_binlog=${info?.s}; ` +
      `host ${os.cpus().length} CPU(s), load average ${os.loadavg()[0]!.toFixed(2)} at start`;
    progress(`database ${test.name}; ${server}`);
    serverPid = await localServerPid((sql) => test.query(sql));
    const config = writeConfig(dir, { database: { url: test.url }, lockDir: path.join(dir, "locks"), leaseSeconds: 60 });
    expectSuccess("offline-jobs init", await cli(config, ["init"]));
    await createLaravelJobsTable(test.db.pool);

    const idle = await readCounters(test);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const background = (await readCounters(test)).Questions - idle.Questions - 1; // minus our own SHOW
    const ctx: Context = {
      ...options,
      server,
      background,
      workers: WORKERS,
      narrowPrefetch: NARROW_PREFETCH,
      defaultPrefetch: DEFAULT_PREFETCH,
      targetRatio: TARGET_RATIO,
    };

    const reference: Sample[] = [];
    const ours: Sample[] = [];
    for (let i = 1; i <= options.repeat; i++) {
      const r = await referenceRun(test, options.jobs);
      reference.push(r);
      progress(`run ${i}/${options.repeat}: reference ${Math.round(r.jobsPerSecond)} jobs/s (${(r.ms / 1000).toFixed(2)} s)`);
      const o = await offlineJobsRun(test, config, options.jobs);
      ours.push(o);
      progress(
        `run ${i}/${options.repeat}: offline-jobs ${Math.round(o.drainPerSecond)} jobs/s, ${Math.round(o.jobsPerSecond)} spawn to exit (${(o.ms / 1000).toFixed(2)} s)`,
      );
    }

    const held = await offlineJobsRun(test, config, options.jobs, true);
    progress(`offline-jobs with a read view held open: ${Math.round(held.drainPerSecond)} jobs/s`);
    const narrowConfig = writeConfig(
      dir,
      { database: { url: test.url }, lockDir: path.join(dir, "locks"), leaseSeconds: 60, prefetchFactor: NARROW_PREFETCH },
      "narrow.json",
    );
    const narrow = await offlineJobsRun(test, narrowConfig, options.jobs);
    progress(`offline-jobs with prefetchFactor ${NARROW_PREFETCH}: ${Math.round(narrow.drainPerSecond)} jobs/s`);

    progress(`cold start: ${COLD_RUNS} runs each of \`node -e 0\`, a mysql2 connection and \`offline-jobs run --quiet\` on an empty queue`);
    await test.query("TRUNCATE TABLE job_queue");
    const cold = await measureColdStart(config, test.url, COLD_RUNS);
    report(ctx, reference, ours, held, narrow, cold);
  } finally {
    await cleanup();
  }
}

main().catch((error) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
