/**
 * Pick-up latency (npm run bench:latency): how long after an application's INSERT a running
 * worker starts the job, and what an idle worker costs the database. Printed beside
 * graphile-worker (PostgreSQL, LISTEN/NOTIFY), measured in the same run. Asserts nothing.
 *
 *   npm run bench:latency                       200 jobs each
 *   node dist/bench/latency.js --jobs 50        fewer
 *
 * offline-jobs: an `offline-jobs work` process with the defaults; a separate connection
 * INSERTs no-op jobs one at a time at random moments (0–400 ms apart, so that an insert finds
 * the worker at every point of its polling cycle); the latency of a job is its started_at minus
 * its created_at, both from the server's clock. The idle worker's cost is the server's
 * Questions counter over 20 s with no job, on a private server where no one else asks
 * anything (less the bench's own two reads of it).
 *
 * The same worker again, with jobs added through enqueue() (as `add` adds them), which sends
 * the host's workers a wake-up datagram after the INSERT (src/locks/wake.ts).
 *
 * graphile-worker: its worker in this process with concurrency 8; jobs added with
 * graphile_worker.add_job() from another connection at the same random moments; the latency
 * is the moment its task starts minus the moment before the add_job call, on this machine's
 * clock. Skipped with a note when PostgreSQL does not answer (PG_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres).
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { parseArgs } from "node:util";
import mysql from "mysql2/promise";
import { enqueue } from "../src/index.js";
import { collect, killTree, makeTempDir, sleep, startCli, writeConfig } from "../test/helpers/cli.js";
import { openBenchDatabase } from "./bench-database.js";
import { connectPostgres } from "./postgres.js";
import { percentile } from "./stats.js";

const { values } = parseArgs({ options: { jobs: { type: "string", default: "200" }, idle: { type: "string", default: "20" } } });
const JOBS = Number(values.jobs);
const IDLE_SECONDS = Number(values.idle);
const GAP_MS = 400;

interface Figures {
  median: number;
  p99: number;
  max: number;
}

function figures(latencies: number[]): Figures {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { median: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? NaN };
}

const randomGap = () => Math.random() * GAP_MS;

async function offlineJobs(): Promise<{ work: Figures; woken: Figures; idleQueriesPerSecond: number }> {
  const { db } = await openBenchDatabase("private", (line) => console.error(line));
  const dir = makeTempDir("oj-latency-");
  try {
    const config = writeConfig(dir, { database: { url: db.url }, lockDir: path.join(dir, "locks") });
    const init = await collect(startCli(["init"], { config }));
    if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
    const worker = startCli(["work", "--quiet"], { config });
    const ended = collect(worker, 3_600_000);
    try {
      await sleep(3000); // the worker is up and idle
      const questions = async () => Number((await db.query<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Questions'"))[0]!.Value);
      const before = await questions();
      await sleep(IDLE_SECONDS * 1000);
      const idleQueriesPerSecond = ((await questions()) - before - 1) / IDLE_SECONDS;

      const connection = await mysql.createConnection(db.url);
      for (let i = 0; i < JOBS; i++) {
        await sleep(randomGap());
        await connection.query("INSERT INTO job_queue (type, job_data) VALUES ('noop', '{}')");
      }
      const latencies = async (from: number) => {
        for (;;) {
          const [[left]] = (await connection.query("SELECT COUNT(*) AS n FROM job_queue WHERE started_at IS NULL")) as unknown as [[{ n: number }]];
          if (Number(left.n) === 0) break;
          await sleep(200);
        }
        const [rows] = (await connection.query("SELECT TIMESTAMPDIFF(MICROSECOND, created_at, started_at) / 1000 AS ms FROM job_queue WHERE ref > ?", [
          from,
        ])) as unknown as [Array<{ ms: string }>];
        return figures(rows.map((row) => Number(row.ms)));
      };
      const work = await latencies(0);
      // The same through enqueue(), which wakes the host's workers with a datagram.
      const [[{ last }]] = (await connection.query("SELECT COALESCE(MAX(ref), 0) AS last FROM job_queue")) as unknown as [[{ last: number }]];
      for (let i = 0; i < JOBS; i++) {
        await sleep(randomGap());
        await enqueue({ type: "noop" }, { configPath: config });
      }
      const woken = await latencies(Number(last));
      await connection.end();
      return { work, woken, idleQueriesPerSecond };
    } finally {
      killTree(worker, "SIGTERM");
      await ended;
    }
  } finally {
    await db.drop();
  }
}

async function graphileWorker(): Promise<Figures | string> {
  const postgres = await connectPostgres("postgres");
  if (typeof postgres === "string") return postgres;
  const { pg, admin, pgUrl } = postgres;
  const database = `oj_latency_${randomBytes(4).toString("hex")}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(pgUrl);
  url.pathname = `/${database}`;
  const { run } = await import("graphile-worker");
  const started = new Map<number, number>();
  try {
    // A pool of our own, ended before the database is dropped (its idle connections would
    // otherwise be terminated under it and crash the process).
    const pgPool = new pg.Pool({ connectionString: url.toString() });
    // graphile-worker asks for both: an idle client's error must not crash the bench.
    pgPool.on("error", () => undefined);
    pgPool.on("connect", (client) => client.on("error", () => undefined));
    const runner = await run({
      pgPool,
      concurrency: 8,
      noHandleSignals: true,
      pollInterval: 2000,
      logger: new (await import("graphile-worker")).Logger(() => () => undefined),
      taskList: {
        noop: async (payload) => {
          started.set((payload as { i: number }).i, performance.now());
        },
      },
    });
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    const addedAt = new Map<number, number>();
    for (let i = 0; i < JOBS; i++) {
      await sleep(randomGap());
      addedAt.set(i, performance.now());
      await client.query("SELECT graphile_worker.add_job('noop', $1::json)", [JSON.stringify({ i })]);
    }
    while (started.size < JOBS) await sleep(50);
    await client.end();
    await runner.stop();
    await pgPool.end();
    return figures([...started].map(([i, at]) => at - addedAt.get(i)!));
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

const ours = await offlineJobs();
const peer = await graphileWorker();
const line = (name: string, f: Figures | string) =>
  typeof f === "string"
    ? `${name.padEnd(34)} ${f}`
    : `${name.padEnd(34)} ${f.median.toFixed(0).padStart(7)} ${f.p99.toFixed(0).padStart(7)} ${f.max.toFixed(0).padStart(7)}`;
console.log(`INSERT-to-start latency over ${JOBS} jobs inserted 0–${GAP_MS} ms apart (ms)`);
console.log(`${"".padEnd(34)} ${"median".padStart(7)} ${"p99".padStart(7)} ${"max".padStart(7)}`);
console.log(line("offline-jobs work (defaults)", ours.work));
console.log(line("offline-jobs enqueue() with wake-up", ours.woken));
console.log(line("graphile-worker (LISTEN/NOTIFY)", peer));
console.log(`idle offline-jobs worker: ${ours.idleQueriesPerSecond.toFixed(2)} queries/s to the database (over ${IDLE_SECONDS} s)`);
