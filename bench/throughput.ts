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
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { collect, killTree, makeTempDir, startCli, writeConfig, type CliResult } from "../test/helpers/cli.js";
import { createTestDatabase, type TestDatabase } from "../test/helpers/database.js";
import { configSchema } from "../src/config/schema.js";
import { cpuTimes, localServerPid, procCpuMs } from "./cpu-usage.js";
import { createLaravelJobsTable, drainLikeLaravel, fillLaravelJobs } from "./laravel-reference.js";

const WORKERS = 8; // Laravel worker processes, and offline-jobs' --max-jobs
const COLD_RUNS = 11;
const TARGET_RATIO = 8;
/** A run with a wider claim window than the default, to show what the bound costs. */
const WIDE_PREFETCH = 8;
const DEFAULT_PREFETCH = configSchema.shape.prefetchFactor.parse(undefined);
/** Server-wide counters read around each timed run (SHOW GLOBAL STATUS). */
const COUNTERS = ["Questions", "Innodb_data_fsyncs"] as const;
type Counters = Record<(typeof COUNTERS)[number], number>;

interface Sample {
  ms: number;
  jobsPerSecond: number;
  /**
   * Jobs/s from the first job taken to the last result written, the way the reference is
   * timed (its workers are connected before the clock starts): for offline-jobs, from the
   * table's own started_at and finished_at, so the process's start-up and exit are left out.
   */
  drainPerSecond: number;
  /**
   * offline-jobs only: jobs/s over the first and the second half of its jobs (split where the
   * middle job's result was written), to show how much of a run goes to warming up.
   */
  halves?: [number, number];
  perJob: Counters;
  /** CPU ms per job of the client side (the reference's worker loops, or the offline-jobs process) and of the server. */
  clientCpuMs: number;
  serverCpuMs: number;
  /** Share of this host's CPU time that was busy during the run (the database server's and everyone else's too). */
  hostBusy: number;
}

let serverPid: number | undefined;

const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

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
  const rows = await test.query<{ Variable_name: string; Value: string }>(
    `SHOW GLOBAL STATUS WHERE Variable_name IN (${COUNTERS.map(() => "?").join(", ")})`,
    [...COUNTERS],
  );
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
  return { ms, jobsPerSecond: (jobs / ms) * 1000, drainPerSecond: (jobs / ms) * 1000, perJob, clientCpuMs: clientMs / jobs, serverCpuMs: serverMs / jobs, hostBusy };
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
const nodeStart = () => run(() => spawn(process.execPath, ["-e", "0"], { stdio: ["ignore", "pipe", "pipe"], detached: true }));

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
  await test.query("TRUNCATE TABLE job_queue");
  for (let done = 0; done < jobs; done += 50_000) {
    const values = Array.from({ length: Math.min(50_000, jobs - done) }, () => ["noop", "{}"]);
    await test.query("INSERT INTO job_queue (type, job_data) VALUES ?", [values]);
  }
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

/** `background`: queries per second other clients sent to the server while the bench sat idle for a second. */
type Context = { jobs: number; repeat: number; server: string; background: number };

function report(ctx: Context, reference: Sample[], ours: Sample[], held: Sample, wide: Sample, cold: { node: number[]; run: number[] }): void {
  const summarize = (samples: Sample[]) => ({
    jobsPerSecond: median(samples.map((s) => s.jobsPerSecond)),
    drainPerSecond: median(samples.map((s) => s.drainPerSecond)),
    seconds: median(samples.map((s) => s.ms)) / 1000,
    perJob: Object.fromEntries(COUNTERS.map((c) => [c, median(samples.map((s) => s.perJob[c]))])) as Counters,
    clientCpuMs: median(samples.map((s) => s.clientCpuMs)),
    serverCpuMs: median(samples.map((s) => s.serverCpuMs)),
    hostBusy: median(samples.map((s) => s.hostBusy)),
  });
  const ref = summarize(reference);
  const oj = summarize(ours);
  const heldRow = summarize([held]);
  const wideRow = summarize([wide]);
  const drainRatio = oj.drainPerSecond / ref.drainPerSecond;
  const split = ours.filter((s) => s.halves);
  const firstHalf = median(split.map((s) => s.halves![0]));
  const secondHalf = median(split.map((s) => s.halves![1]));
  const wallRatio = oj.jobsPerSecond / ref.jobsPerSecond;
  const num = (n: number) => Math.round(n).toLocaleString("en-US");
  const columns = ["jobs/s", "spawn to exit", "wall s", "queries/job", "fsyncs/job", "client CPU ms/job", "server CPU ms/job", "host CPU busy"];
  const ms = (n: number) => (Number.isNaN(n) ? "n/a" : n.toFixed(3));
  const cells = (s: ReturnType<typeof summarize>, spawned: boolean) => [
    num(s.drainPerSecond),
    spawned ? num(s.jobsPerSecond) : "",
    s.seconds.toFixed(2),
    ...COUNTERS.map((c) => s.perJob[c].toFixed(2)),
    ms(s.clientCpuMs),
    ms(s.serverCpuMs),
    `${(s.hostBusy * 100).toFixed(0)}%`,
  ];
  const verdict = (ratio: number) => `${ratio.toFixed(1)}x`;
  const table: string[][] = [
    ["", ...columns],
    [`Laravel DB queue pattern, ${WORKERS} workers`, ...cells(ref, false)],
    [`offline-jobs run --max-jobs ${WORKERS}`, ...cells(oj, true)],
    [`  the same, a read view held open (1 run)`, ...cells(heldRow, true)],
    [`  the same, prefetchFactor ${WIDE_PREFETCH} (1 run)`, ...cells(wideRow, true)],
    [`ratio (target >= ${TARGET_RATIO}x)`, verdict(drainRatio), verdict(wallRatio)],
  ];
  const widths = columns.map((_, i) => Math.max(...table.map((r) => (r[i + 1] ?? "").length)));
  const first = Math.max(...table.map((r) => r[0]!.length));
  const met = (ratio: number) => (ratio >= TARGET_RATIO ? "met" : "NOT met");
  const lines = [
    `offline-jobs throughput: ${num(ctx.jobs)} no-op jobs per run, median of ${ctx.repeat} run(s) per side`,
    ctx.server,
    "",
    ...table.map((r) => [r[0]!.padEnd(first), ...widths.map((w, i) => (r[i + 1] ?? "").padStart(w))].join("  ").trimEnd()),
    "",
    `target ${TARGET_RATIO}x: ${met(drainRatio)} like for like (${verdict(drainRatio)}); ${met(wallRatio)} counting offline-jobs' start-up and exit against the reference's none (${verdict(wallRatio)}).`,
    ...(split.length === 0
      ? []
      : [
          `offline-jobs by halves (median of its runs): the first ${num(Math.floor(ctx.jobs / 2))} jobs ${num(firstHalf)} jobs/s, the second ${num(secondHalf)} jobs/s (${verdict(secondHalf / ref.drainPerSecond)} the reference):`,
          "  a process that has just started runs its first jobs in V8's interpreter and baseline code, and its compiler threads take CPU from the database on the host's cores.",
        ]),
    `jobs/s of each run: reference ${reference.map((s) => num(s.drainPerSecond)).join(", ")}; offline-jobs ${ours.map((s) => num(s.drainPerSecond)).join(", ")} (spawn to exit ${ours.map((s) => num(s.jobsPerSecond)).join(", ")})`,
    "jobs/s: first job taken to last result written. The reference's workers connect before its clock starts; offline-jobs' figure is read from the table (MIN(started_at) to MAX(finished_at)).",
    "spawn to exit: the same offline-jobs run timed from spawning the process to its exit, start-up, connecting and housekeeping included.",
    "queries, fsyncs: server-wide SHOW GLOBAL STATUS deltas (Questions, Innodb_data_fsyncs) / jobs.",
    "client CPU: the reference's worker loops (mysql2, in the bench process) / the offline-jobs process, start-up included; server CPU: mariadbd/mysqld if local.",
    "read view held open: another connection keeps a consistent snapshot (as mysqldump --single-transaction does), so InnoDB purges nothing during the run.",
    `prefetchFactor ${WIDE_PREFETCH}: a run may hold ${WIDE_PREFETCH * WORKERS} jobs ahead of its slots instead of ${DEFAULT_PREFETCH * WORKERS} (the default ${DEFAULT_PREFETCH}): more per round trip, more stranded by a crash; ${(wideRow.drainPerSecond / ref.drainPerSecond).toFixed(1)}x like for like.`,
    ...(ctx.background > 0.5
      ? [`warning: other clients sent ~${ctx.background.toFixed(0)} queries/s to the server before the runs; the per-job counters include theirs, and a loaded host slows both sides.`]
      : []),
    "",
    `cold start, median of ${COLD_RUNS} runs:`,
    `  node -e 0                                ${median(cold.node).toFixed(0).padStart(5)} ms`,
    `  offline-jobs run --quiet (empty queue)   ${median(cold.run).toFixed(0).padStart(5)} ms`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
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
    const ctx: Context = { ...options, server, background };

    const reference: Sample[] = [];
    const ours: Sample[] = [];
    for (let i = 1; i <= options.repeat; i++) {
      const r = await referenceRun(test, options.jobs);
      reference.push(r);
      progress(`run ${i}/${options.repeat}: reference ${Math.round(r.jobsPerSecond)} jobs/s (${(r.ms / 1000).toFixed(2)} s)`);
      const o = await offlineJobsRun(test, config, options.jobs);
      ours.push(o);
      progress(`run ${i}/${options.repeat}: offline-jobs ${Math.round(o.drainPerSecond)} jobs/s, ${Math.round(o.jobsPerSecond)} spawn to exit (${(o.ms / 1000).toFixed(2)} s)`);
    }

    const held = await offlineJobsRun(test, config, options.jobs, true);
    progress(`offline-jobs with a read view held open: ${Math.round(held.drainPerSecond)} jobs/s`);
    const wideConfig = writeConfig(dir, { database: { url: test.url }, lockDir: path.join(dir, "locks"), leaseSeconds: 60, prefetchFactor: WIDE_PREFETCH }, "wide.json");
    const wide = await offlineJobsRun(test, wideConfig, options.jobs);
    progress(`offline-jobs with prefetchFactor ${WIDE_PREFETCH}: ${Math.round(wide.drainPerSecond)} jobs/s`);

    progress(`cold start: ${COLD_RUNS} runs each of \`node -e 0\` and \`offline-jobs run --quiet\` on an empty queue`);
    await test.query("TRUNCATE TABLE job_queue");
    const cold = { node: [] as number[], run: [] as number[] };
    for (let i = 0; i < COLD_RUNS; i++) {
      const node = await nodeStart();
      expectSuccess("node -e 0", node);
      cold.node.push(node.ms);
      const empty = await cli(config, ["run", "--quiet"]);
      expectSuccess("offline-jobs run (empty queue)", empty);
      cold.run.push(empty.ms);
    }
    report(ctx, reference, ours, held, wide, cold);
  } finally {
    await cleanup();
  }
}

main().catch((error) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
