/**
 * The database side's ceiling (npm run bench:ceiling): how fast the queue drains with no
 * runner at all, so that bench/throughput's figure can be split into what the claims and
 * the outcome writes allow and what the runner costs on top.
 *
 * Two claimers with the run's own claims (claimJobs, its cursor, and its claim plan: at most
 * the default prefetchFactor × 8 slots ahead, a claim once half of that is left) hand every
 * job they claim to the Finisher as complete, with the same result and log a no-op job
 * writes. Beside it, in the same run and on the same server: the same claims with no outcome
 * written, one claim of the whole bound at a time with jobs handed over at once, and the
 * Laravel-pattern reference of bench/throughput, so that each figure reads as a ratio.
 * Each drain runs in a fresh child process, as an offline-jobs run does ("cold"), and again
 * in one that has just drained the same number of jobs ("warm"): the difference is the
 * client's own warming up (V8 runs a fresh process's code in its interpreter first). Prints
 * figures; asserts none.
 *
 *   npm run bench:ceiling                       10,000 jobs, 3 runs of each
 *   npm run bench:ceiling -- --jobs 2000 --repeat 1
 */
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { configSchema } from "../src/config/schema.js";
import { loadRegistry } from "../src/handlers/registry.js";
import { silentLogger } from "../src/logger.js";
import { claimJobs } from "../src/queue/claim.js";
import { ClaimCursor } from "../src/queue/claim-cursor.js";
import { openDatabase, type Database } from "../src/queue/db.js";
import { claimSize } from "../src/runner/loop/claim-plan.js";
import { Finisher } from "../src/runner/loop/finisher.js";
import { OutcomeBounds } from "../src/runner/attempt/outcome-bounds.js";
import { createTestDatabase } from "../test/helpers/database.js";
import { createLaravelJobsTable, drainLikeLaravel, fillLaravelJobs } from "./laravel-reference.js";
import { fillNoopJobs } from "./noop-jobs.js";
import { median, percentile } from "./stats.js";

const SLOTS = 8;
const PREFETCH = configSchema.shape.prefetchFactor.parse(undefined);
/** What a run with short jobs may hold claimed ahead of its slots, claims in flight included. */
const AHEAD = PREFETCH * SLOTS;

/** What the drain holds when it decides on a claim. */
interface Held {
  buffered: number;
  claiming: number;
  asked: number;
}

interface Pattern {
  name: string;
  /** How many jobs to claim now (0: none). */
  claimSize(held: Held): number;
  /** Hand claimed jobs over SLOTS per event-loop turn, as a run's slots take them; else all at once. */
  gradual: boolean;
  writeOutcomes: boolean;
}

/**
 * The run's own claim plan (claim-plan.ts), for a run whose jobs have proved short and whose
 * slots are all busy: claims of what is left of the bound, two at once, once half is left.
 */
const runsClaims = (held: Held) =>
  claimSize({ ...held, slots: SLOTS, running: SLOTS, expectedMs: 0, prefetchFactor: PREFETCH, limited: false, limitLeft: Infinity });

const PATTERNS: Pattern[] = [
  { name: "two claims of half the bound, outcomes written (the run's pattern)", claimSize: runsClaims, gradual: true, writeOutcomes: true },
  { name: "the same, no outcome written (claims only)", claimSize: runsClaims, gradual: true, writeOutcomes: false },
  {
    name: "one claim of the whole bound at a time, jobs taking no time",
    claimSize: ({ buffered, claiming }) => (buffered === 0 && claiming === 0 ? AHEAD : 0),
    gradual: false,
    writeOutcomes: true,
  },
];

interface Drain {
  jobsPerSecond: number;
  claimMs: number[];
}

/** Drains the job table with claims and outcome writes only; jobs/s from the table, as bench/throughput reads it. */
async function drainWithoutRunner(db: Database, types: string[], jobs: number, pattern: Pattern): Promise<Drain> {
  const query = async <T>(sql: string, params: unknown[] = []) => (await db.pool.query(sql, params))[0] as T[];
  await fillNoopJobs(db.pool, jobs);
  const finisher = new Finisher(db, new OutcomeBounds(65_536), silentLogger, 60_000);
  const cursor = new ClaimCursor();
  const claimMs: number[] = [];
  let buffered = 0;
  let asked = 0;
  let claiming = 0;
  let empty = false;
  let started = 0;
  let failure: unknown;
  const stamp = new Date().toISOString();
  const hand = (job: { ref: number; token: string; type: string; user: string | null }) => {
    buffered--;
    started++;
    if (!pattern.writeOutcomes) return;
    const log = `[${stamp}] info attempt 1 of 3 on bench:0\n[${stamp}] info complete in 0 ms\n`;
    const result = JSON.stringify({ notice: `Job ${job.ref} (noop) is complete.` });
    finisher.add({ kind: "complete", ref: job.ref, token: job.token, result, log }, job).catch((error) => (failure ??= error));
  };
  await new Promise<void>((resolve) => {
    const pump = () => {
      if (failure || (empty && claiming === 0 && buffered === 0)) return resolve();
      const want = empty ? 0 : pattern.claimSize({ buffered, claiming, asked });
      if (want <= 0) return;
      const sent = performance.now();
      claiming++;
      asked += want;
      claimJobs(db, { types, limits: {}, max: want, workerId: "bench:0", leaseSeconds: 60, cursor })
        .then(({ jobs: claimed }) => {
          claimMs.push(performance.now() - sent);
          claiming--;
          asked -= want;
          if (claimed.length < want) empty = true;
          buffered += claimed.length;
          if (!pattern.gradual) claimed.forEach(hand);
          else
            claimed.forEach((job, i) =>
              later(Math.floor(i / SLOTS), () => {
                hand(job);
                pump();
              }),
            );
          pump();
        })
        .catch((error) => {
          failure ??= error;
          resolve();
        });
      pump(); // the second claim, if the bound allows it
    };
    pump();
  });
  await finisher.drain();
  if (failure) throw failure;
  if (started !== jobs) throw new Error(`claimed ${started} of ${jobs} jobs`);
  // Without outcomes, the claims' span is all there is: from the first claim to the last.
  const [span] = await query<{ ms: number }>(
    `SELECT TIMESTAMPDIFF(MICROSECOND, MIN(started_at), ${pattern.writeOutcomes ? "MAX(finished_at)" : "MAX(started_at)"}) / 1000 AS ms FROM job_queue`,
  );
  return { jobsPerSecond: (jobs / Number(span!.ms)) * 1000, claimMs };
}

/** Runs `then` after `turns` turns of the event loop (setImmediate, not a timer's millisecond). */
function later(turns: number, then: () => void): void {
  if (turns <= 0) return then();
  setImmediate(() => later(turns - 1, then));
}

/** Child mode: `--drain PATTERN --url URL --jobs N [--warm]`; prints the measured Drain as JSON. */
async function drainInThisProcess(url: string, jobs: number, pattern: Pattern, warm: boolean): Promise<void> {
  const db = openDatabase(url, "job_queue", 8);
  // A run claims every type it has a handler for: the built-ins, as in bench/throughput.
  const types = (await loadRegistry(configSchema.parse({ database: { url } }))).selected();
  try {
    if (warm) await drainWithoutRunner(db, types, jobs, pattern);
    process.stdout.write(JSON.stringify(await drainWithoutRunner(db, types, jobs, pattern)));
  } finally {
    await db.close();
  }
}

function drainInChild(url: string, jobs: number, pattern: number, warm: boolean): Promise<Drain> {
  const args = [fileURLToPath(import.meta.url), "--drain", String(pattern), "--url", url, "--jobs", String(jobs), ...(warm ? ["--warm"] : [])];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(JSON.parse(out) as Drain) : reject(new Error(`the drain of "${PATTERNS[pattern]!.name}" exited with ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      jobs: { type: "string", default: "10000" },
      repeat: { type: "string", default: "3" },
      drain: { type: "string" },
      url: { type: "string" },
      warm: { type: "boolean" },
    },
  });
  const jobs = Number(values.jobs);
  const repeat = Number(values.repeat);
  if (!Number.isInteger(jobs) || jobs < 1 || !Number.isInteger(repeat) || repeat < 1) throw new Error("--jobs and --repeat must be whole numbers >= 1");
  if (values.drain !== undefined) return drainInThisProcess(values.url!, jobs, PATTERNS[Number(values.drain)]!, values.warm === true);
  const test = await createTestDatabase();
  try {
    await createLaravelJobsTable(test.db.pool);
    const reference: number[] = [];
    const cold = PATTERNS.map(() => [] as Drain[]);
    const warm = PATTERNS.map(() => [] as Drain[]);
    for (let i = 0; i < repeat; i++) {
      await fillLaravelJobs(test.db.pool, jobs);
      reference.push((jobs / (await drainLikeLaravel(test.url, SLOTS)).ms) * 1000);
      for (const p of PATTERNS.keys()) {
        cold[p]!.push(await drainInChild(test.url, jobs, p, false));
        warm[p]!.push(await drainInChild(test.url, jobs, p, true));
      }
      process.stderr.write(`[bench] run ${i + 1}/${repeat} done\n`);
    }
    const ref = median(reference);
    const num = (n: number) => Math.round(n).toLocaleString("en-US");
    const rate = (drains: Drain[]) => median(drains.map((d) => d.jobsPerSecond));
    const cell = (drains: Drain[]) => `${num(rate(drains)).padStart(7)} ${`${(rate(drains) / ref).toFixed(1)}x`.padStart(6)}`;
    const rtt = (drains: Drain[], p: number) =>
      percentile(
        drains.flatMap((d) => d.claimMs),
        p,
      ).toFixed(2);
    const lines = [
      `the database side alone: ${num(jobs)} no-op jobs, claims and outcome writes with no runner, at most ${AHEAD} claimed ahead; median of ${repeat}`,
      "",
      `${"".padEnd(68)} ${"cold jobs/s".padStart(14)} ${"warm jobs/s".padStart(14)}  claim round trip, cold p50 / p90`,
      `${`Laravel DB queue pattern, ${SLOTS} workers (the reference)`.padEnd(68)} ${`${num(ref).padStart(7)} ${"1.0x".padStart(6)}`}`,
      ...PATTERNS.map((pattern, p) => `${pattern.name.padEnd(68)} ${cell(cold[p]!)} ${cell(warm[p]!)}  ${rtt(cold[p]!, 0.5)} / ${rtt(cold[p]!, 0.9)} ms`),
      "",
      `jobs/s per run, cold: ${PATTERNS.map((_, p) => cold[p]!.map((d) => num(d.jobsPerSecond)).join(", ")).join("; ")}; reference ${reference.map(num).join(", ")}`,
      "cold: a fresh process, as an offline-jobs run is; warm: a process that has just drained as many jobs.",
      "An offline-jobs run does all of this and runs its jobs too: with the default prefetchFactor, bench/throughput's figure stays below the first row's.",
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await test.drop();
  }
}

main().catch((error) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
