/**
 * The table and notes that bench/throughput prints: medians of its samples, the ratios against
 * the reference and the verdict on the target.
 */
import { coldStartLines, type ColdStart } from "./cold-start.js";
import { median } from "./stats.js";

/** Server-wide counters read around each timed run (SHOW GLOBAL STATUS). */
export const COUNTERS = ["Questions", "Innodb_data_fsyncs"] as const;
export type Counters = Record<(typeof COUNTERS)[number], number>;

export interface Sample {
  ms: number;
  jobsPerSecond: number;
  /**
   * Jobs/s from the first job taken to the last one done, the way the reference is timed (its
   * workers are connected before the clock starts): for offline-jobs, from the table's own
   * started_at and finished_at (when each job began and ended; its last results are written up
   * to 20 ms later), so the process's start-up and exit are left out.
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

/** What the report says about the run besides its samples. */
export interface Context {
  jobs: number;
  repeat: number;
  /** The server line: version, durability settings, host CPUs and load. */
  server: string;
  /** Queries per second other clients sent to the server while the bench sat idle for a second. */
  background: number;
  /** The bench's setup, as the table and notes name it. */
  workers: number;
  narrowPrefetch: number;
  defaultPrefetch: number;
  targetRatio: number;
}

export function report(ctx: Context, reference: Sample[], ours: Sample[], held: Sample, narrow: Sample, cold: ColdStart): void {
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
  const narrowRow = summarize([narrow]);
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
    [`Laravel DB queue pattern, ${ctx.workers} workers`, ...cells(ref, false)],
    [`offline-jobs run --max-jobs ${ctx.workers}`, ...cells(oj, true)],
    [`  the same, a read view held open (1 run)`, ...cells(heldRow, true)],
    [`  the same, prefetchFactor ${ctx.narrowPrefetch} (1 run)`, ...cells(narrowRow, true)],
    [`ratio (target >= ${ctx.targetRatio}x)`, verdict(drainRatio), verdict(wallRatio)],
  ];
  const widths = columns.map((_, i) => Math.max(...table.map((r) => (r[i + 1] ?? "").length)));
  const first = Math.max(...table.map((r) => r[0]!.length));
  const met = (ratio: number) => (ratio >= ctx.targetRatio ? "met" : "NOT met");
  const lines = [
    `offline-jobs throughput: ${num(ctx.jobs)} no-op jobs per run, median of ${ctx.repeat} run(s) per side`,
    ctx.server,
    "",
    ...table.map((r) => [r[0]!.padEnd(first), ...widths.map((w, i) => (r[i + 1] ?? "").padStart(w))].join("  ").trimEnd()),
    "",
    `target ${ctx.targetRatio}x: ${met(drainRatio)} like for like (${verdict(drainRatio)}); ${met(wallRatio)} counting offline-jobs' start-up and exit against the reference's none (${verdict(wallRatio)}).`,
    ...(split.length === 0
      ? []
      : [
          `offline-jobs by halves (median of its runs): the first ${num(Math.floor(ctx.jobs / 2))} jobs ${num(firstHalf)} jobs/s, the second ${num(secondHalf)} jobs/s (${verdict(secondHalf / ref.drainPerSecond)} the reference):`,
          "  a process that has just started runs its first jobs in V8's interpreter and baseline code, and its compiler threads take CPU from the database on the host's cores.",
        ]),
    `jobs/s of each run: reference ${reference.map((s) => num(s.drainPerSecond)).join(", ")}; offline-jobs ${ours.map((s) => num(s.drainPerSecond)).join(", ")} (spawn to exit ${ours.map((s) => num(s.jobsPerSecond)).join(", ")})`,
    "jobs/s: first job taken to last job done. The reference's workers connect before its clock starts; offline-jobs' figure is read from the table (MIN(started_at) to MAX(finished_at), when jobs began and ended; the last results are written up to 20 ms later, which spawn to exit includes).",
    "spawn to exit: the same offline-jobs run timed from spawning the process to its exit, start-up, connecting and housekeeping included.",
    "queries, fsyncs: server-wide SHOW GLOBAL STATUS deltas (Questions, Innodb_data_fsyncs) / jobs.",
    "client CPU: the reference's worker loops (mysql2, in the bench process) / the offline-jobs process, start-up included; server CPU: mariadbd/mysqld if local.",
    "read view held open: another connection keeps a consistent snapshot (as mysqldump --single-transaction does), so InnoDB purges nothing during the run.",
    `prefetchFactor ${ctx.narrowPrefetch}: a run may hold at most ${ctx.narrowPrefetch * ctx.workers} jobs ahead of its slots instead of ${ctx.defaultPrefetch * ctx.workers} (the default ${ctx.defaultPrefetch}; within the cap a run claims what its slots finish in 50 ms): ${(narrowRow.drainPerSecond / ref.drainPerSecond).toFixed(1)}x like for like, against ${drainRatio.toFixed(1)}x.`,
    ...(ctx.background > 0.5
      ? [
          `warning: other clients sent ~${ctx.background.toFixed(0)} queries/s to the server before the runs; the per-job counters include theirs, and a loaded host slows both sides.`,
        ]
      : []),
    "",
    ...coldStartLines(cold),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
