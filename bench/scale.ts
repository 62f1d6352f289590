/**
 * Scale benchmark (npm run bench:scale): no-op jobs drained by 1, 2, 4 and 8 overlapping
 * `offline-jobs run` processes on one host, and by runs spread over 2 and 4 simulated hosts
 * (a hostName and a lock folder each: all they share is the database). Prints jobs/s and the
 * database round trips per job, so that one can see where adding runs stops helping.
 * Asserts no timings; exits 1 only if a run failed or a job was not completed.
 *
 *   npm run bench:scale                               10,000 jobs per row, 4 slots per run
 *   node dist/bench/scale.js --jobs 2000 --slots 2    smaller
 *   npm run bench:scale -- --cluster                  on the Galera cluster of scripts/galera.sh (scale-cluster.ts)
 *
 * Every run of a row starts the same instant: the bench holds `LOCK TABLES job_queue WRITE`
 * while the runs start and take their slots (they then wait for the table in their first
 * query), and the clock starts when it unlocks. Run k on a host is started with --max-jobs
 * slots·(k+1) once runs 1..k-1 there hold theirs, so that every run gets `slots` slots of the
 * host's shared pool, as overlapping cron runs do.
 *
 * Round trips are server-wide counters (SHOW GLOBAL STATUS: Questions, Com_select, …) read
 * before and after a row. So that nobody else's statements count, the bench starts a MariaDB
 * of its own (test/helpers/private-mariadb.ts, with the stock buffer pool and redo log sizes
 * and full durability) on this machine's disk. `--server shared` uses the test server
 * (OFFLINE_JOBS_TEST_SERVER_URL, default mysql://root@127.0.0.1:3306) instead: its counters
 * then include everyone else's statements (a warning says how many came in beforehand).
 * Either way the CPUs are shared with whatever else runs: run it on a quiet machine.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import mysql from "mysql2/promise";
import { collect, killTree, makeTempDir, sleep, startCli, writeConfig, type CliResult } from "../test/helpers/cli.js";
import type { ChildProcess } from "node:child_process";
import { openBenchDatabase, type BenchDatabase } from "./bench-database.js";
import { cpuTimes, procCpuMs } from "./cpu-usage.js";
import { fillNoopJobs } from "./noop-jobs.js";
import { clusterMain } from "./scale-cluster.js";

const SCENARIOS: Array<{ runs: number; hosts: number }> = [
  { runs: 1, hosts: 1 },
  { runs: 2, hosts: 1 },
  { runs: 4, hosts: 1 },
  { runs: 8, hosts: 1 },
  { runs: 2, hosts: 2 },
  { runs: 4, hosts: 4 },
  { runs: 8, hosts: 2 },
  { runs: 8, hosts: 4 },
];
const COUNTERS = ["Questions", "Com_select", "Com_update", "Com_begin", "Com_commit", "Innodb_data_fsyncs"] as const;
type Counters = Record<(typeof COUNTERS)[number], number>;

interface Row {
  runs: number;
  hosts: number;
  seconds: number;
  jobsPerSecond: number;
  perJob: Counters;
  serverCpuMs: number;
  clientCpuMs: number;
  hostBusy: number;
}

const progress = (line: string) => process.stderr.write(`[bench:scale] ${line}\n`);

function parseOptions(): { jobs: number; slots: number; server: "private" | "shared"; cluster: boolean; repeats: number } {
  const usage =
    "usage: node dist/bench/scale.js [--jobs N (default 10000)] [--slots N per run (default 4)] [--server private|shared] [--cluster [--repeats N (default 3)]]";
  let values: { jobs?: string; slots?: string; server?: string; cluster?: boolean; repeats?: string } = {};
  try {
    ({ values } = parseArgs({
      options: {
        jobs: { type: "string", default: "10000" },
        slots: { type: "string", default: "4" },
        server: { type: "string", default: "private" },
        cluster: { type: "boolean", default: false },
        repeats: { type: "string", default: "3" },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (values.server !== "private" && values.server !== "shared") {
    console.error(`--server: must be private or shared\n${usage}`);
    process.exit(2);
  }
  const int = (name: string, text = "") => {
    if (/^\d+$/.test(text) && Number(text) >= 1) return Number(text);
    console.error(`--${name}: must be a whole number >= 1\n${usage}`);
    return process.exit(2);
  };
  return {
    jobs: int("jobs", values.jobs),
    slots: int("slots", values.slots),
    server: values.server,
    cluster: values.cluster === true,
    repeats: int("repeats", values.repeats),
  };
}

async function readCounters(test: BenchDatabase): Promise<Counters> {
  const rows = await test.query<{ Variable_name: string; Value: string }>(`SHOW GLOBAL STATUS WHERE Variable_name IN (?)`, [[...COUNTERS]]);
  const byName = new Map(rows.map((r) => [r.Variable_name.toLowerCase(), Number(r.Value)]));
  return Object.fromEntries(COUNTERS.map((c) => [c, byName.get(c.toLowerCase()) ?? NaN])) as Counters;
}

/** Slots held on a host by `pid`, from the owner files beside the slot locks. */
function slotsHeld(lockDir: string, pid: number): number {
  let held = 0;
  for (const entry of fs.existsSync(lockDir) ? fs.readdirSync(lockDir) : []) {
    if (!entry.endsWith(".owner")) continue;
    try {
      if ((JSON.parse(fs.readFileSync(path.join(lockDir, entry), "utf8")) as { pid: number }).pid === pid) held++;
    } catch {
      // being written
    }
  }
  return held;
}

/** Every child still running, so that Ctrl-C or a failure takes them down with us. */
const children = new Set<ChildProcess>();

async function scenario(
  test: BenchDatabase,
  dir: string,
  index: number,
  runs: number,
  hosts: number,
  jobs: number,
  slots: number,
  server: number | undefined,
): Promise<Row> {
  await fillNoopJobs(test, jobs);
  const hostList = Array.from({ length: hosts }, (_, h) => {
    const lockDir = path.join(dir, `locks-${index}-${h + 1}`);
    const config = writeConfig(dir, { database: { url: test.url }, hostName: `bench-${h + 1}`, lockDir, leaseSeconds: 60 }, `row-${index}-host-${h + 1}.json`);
    return { lockDir, config };
  });

  const gate = await mysql.createConnection(test.url);
  const started: Array<{ child: ChildProcess; result: Promise<CliResult & { endedAt: number }> }> = [];
  try {
    await gate.query("LOCK TABLES job_queue WRITE");
    // Waves: the k-th run of every host, then the next, each once the previous holds its slots.
    for (let k = 0; k * hosts < runs; k++) {
      const wave = hostList.slice(0, Math.min(hosts, runs - k * hosts)).map((host) => {
        const child = startCli(["run", "--max-jobs", String(slots * (k + 1)), "--quiet"], { config: host.config });
        children.add(child);
        const result = collect(child, 600_000).then((r) => ({ ...r, endedAt: performance.now() }));
        void result.finally(() => children.delete(child)).catch(() => undefined);
        started.push({ child, result });
        return { child, host };
      });
      const deadline = Date.now() + 60_000;
      while (!wave.every(({ child, host }) => slotsHeld(host.lockDir, child.pid!) >= slots)) {
        if (Date.now() > deadline) throw new Error(`row ${runs} runs / ${hosts} hosts: runs did not take their ${slots} slots within 60 s`);
        await sleep(20);
      }
    }
    const before = await readCounters(test);
    const cpu = cpuTimes();
    const childCpu = procCpuMs("self", "cutime");
    const serverCpu = procCpuMs(server, "utime");
    const t0 = performance.now();
    await gate.query("UNLOCK TABLES");
    const results = await Promise.all(started.map((s) => s.result));
    const seconds = (Math.max(...results.map((r) => r.endedAt)) - t0) / 1000;
    const cpuAfter = cpuTimes();
    const clientMs = procCpuMs("self", "cutime") - childCpu;
    const serverMs = procCpuMs(server, "utime") - serverCpu;
    const after = await readCounters(test);
    results.forEach((r, i) => {
      if (r.code !== 0) throw new Error(`run ${i + 1} of row ${runs}/${hosts} exited ${r.code ?? r.signal}:\n${r.stderr.trim()}`);
    });
    const [complete] = await test.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status = 'complete'");
    if (Number(complete!.n) !== jobs) throw new Error(`row ${runs}/${hosts}: ${complete!.n} of ${jobs} jobs complete`);
    return {
      runs,
      hosts,
      seconds,
      jobsPerSecond: jobs / seconds,
      perJob: Object.fromEntries(COUNTERS.map((c) => [c, (after[c] - before[c]) / jobs])) as Counters,
      serverCpuMs: serverMs / jobs,
      clientCpuMs: clientMs / jobs,
      hostBusy: (cpuAfter.busy - cpu.busy) / Math.max(1, cpuAfter.total - cpu.total),
    };
  } finally {
    await gate.end().catch(() => undefined);
    for (const { child } of started) killTree(child);
  }
}

function report(rows: Row[], header: string[], slots: number): void {
  const fixed = (n: number, digits = 2) => (Number.isNaN(n) ? "n/a" : n.toFixed(digits));
  const columns = [
    "runs",
    "hosts",
    "slots",
    "jobs/s",
    "wall s",
    "queries/job",
    "SELECT/job",
    "UPDATE/job",
    "BEGIN/job",
    "COMMIT/job",
    "fsyncs/job",
    "server CPU ms/job",
    "server-bound jobs/s",
    "runs' CPU ms/job",
    "host CPU busy",
  ];
  const table = [
    columns,
    ...rows.map((r) => [
      String(r.runs),
      String(r.hosts),
      String(r.runs * slots),
      Math.round(r.jobsPerSecond).toLocaleString("en-US"),
      fixed(r.seconds),
      ...COUNTERS.map((c) => fixed(r.perJob[c])),
      fixed(r.serverCpuMs, 3),
      Number.isNaN(r.serverCpuMs) || r.serverCpuMs <= 0 ? "n/a" : Math.round(1000 / r.serverCpuMs).toLocaleString("en-US"),
      fixed(r.clientCpuMs, 3),
      `${Math.round(r.hostBusy * 100)}%`,
    ]),
  ];
  const widths = columns.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const lines = [
    ...header,
    "",
    ...table.map((row) => row.map((cell, i) => cell.padStart(widths[i]!)).join("  ")),
    "",
    "jobs/s: from the moment every run holds its slots (the table unlocked) to the last run's exit.",
    "per job: SHOW GLOBAL STATUS deltas / jobs (server-wide; the runs' start-up statements included).",
    "CPU: mariadbd's own (if local) and the runs' (reaped children), per job; host busy: all CPUs, everyone's.",
    "server-bound jobs/s: 1000 / server CPU ms per job, the rate at which one server core would be saturated by this pattern.",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (options.cluster) return clusterMain(options);
  const { jobs, slots } = options;
  const dir = makeTempDir("oj-bench-scale-");
  const { db: test, where } = await openBenchDatabase(options.server, progress).catch((error) => {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      for (const child of children) killTree(child);
      fs.rmSync(dir, { recursive: true, force: true });
      await test.drop().catch((error) => console.error(`could not drop database ${test.name}: ${(error as Error).message}`));
    })());
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  try {
    const init = await collect(startCli(["init"], { config: writeConfig(dir, { database: { url: test.url } }, "init.json") }));
    if (init.code !== 0) throw new Error(`offline-jobs init failed:\n${init.stderr}`);
    const [info] = await test.query<{ v: string; f: string; b: string }>("SELECT VERSION() AS v, @@innodb_flush_log_at_trx_commit AS f, @@log_bin AS b");
    const idle = await readCounters(test);
    await sleep(1000);
    const background = (await readCounters(test)).Questions - idle.Questions - 1;
    const header = [
      `offline-jobs scale: ${jobs.toLocaleString("en-US")} no-op jobs per row, ${slots} slots per run (pool of 4 connections each)`,
      `server: ${where}, ${info?.v}: innodb_flush_log_at_trx_commit=${info?.f}, log_bin=${info?.b}; host ${os.cpus().length} CPU(s), load average ${os.loadavg()[0]!.toFixed(2)} at start`,
      ...(background > 0.5
        ? [`warning: other clients sent ~${background.toFixed(0)} queries/s to the server before the rows; the per-job counters include theirs.`]
        : []),
    ];
    progress(header.join("\n"));
    const rows: Row[] = [];
    for (const [i, { runs, hosts }] of SCENARIOS.entries()) {
      const row = await scenario(test, dir, i, runs, hosts, jobs, slots, test.serverPid);
      progress(`${runs} run(s) on ${hosts} host(s): ${Math.round(row.jobsPerSecond)} jobs/s, ${row.perJob.Questions.toFixed(2)} queries/job`);
      rows.push(row);
    }
    report(rows, header, slots);
  } finally {
    await cleanup();
  }
}

main().catch((error) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
