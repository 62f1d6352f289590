/**
 * offline-jobs beside its peers (npm run bench:peers): 10,000 no-op jobs at concurrency 8, in
 * the same run, for each of offline-jobs, graphile-worker (PostgreSQL) and BullMQ (Redis):
 *
 * - warm: a worker that is already running (offline-jobs: an `offline-jobs work --max-jobs 8`
 *   daemon; the peers: their worker in this process) and has run 2,000 jobs to warm up, is fed
 *   the 10,000 by one statement (offline-jobs: one multi-row INSERT, as an application would;
 *   graphile-worker: addJobs, one call of its add_jobs(); BullMQ: addBulk), counted from that
 *   statement to the last job's completion: for offline-jobs from the table (the INSERT's
 *   created_at to the last finished_at, when the last job ended, its result written up to 20 ms
 *   later; the server's clock), for the peers from this process's
 *   clock (before the add to the last completion event);
 * - cold: the 10,000 are there before a process starts (offline-jobs: `offline-jobs run
 *   --max-jobs 8 --quiet`, a cron run; graphile-worker: runOnce(); BullMQ: a worker that
 *   closes when the queue is drained), timed from spawning it to its exit.
 *
 * Durability is printed beside the figures: the MariaDB's innodb_flush_log_at_trx_commit,
 * PostgreSQL's fsync and synchronous_commit, Redis's save, appendonly and appendfsync (a Redis
 * that keeps nothing on disk loses every queued job when it restarts: such a BullMQ figure is
 * not like for like). So BullMQ runs twice: on the machine's Redis as it is, and on a private
 * Redis that fsyncs an append-only file before it answers (durable-redis.ts), the counterpart
 * of the other two servers' settings. The machine is shared: `--rounds` rounds (default 2) alternate the three, and the
 * table gives the median of each.
 *
 * Servers: the test MariaDB (OFFLINE_JOBS_TEST_SERVER_URL); PostgreSQL at PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test), where graphile-worker gets a schema of its own,
 * dropped afterwards; Redis at REDIS_URL (default redis://127.0.0.1:6379), a queue of its own,
 * obliterated afterwards; and Debian's redis-server for the durable one. A peer whose server is
 * missing is skipped with a note.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { collect, killTree, makeTempDir, runCli, sleep, startCli, writeConfig } from "../test/helpers/cli.js";
import { createTestDatabase, type TestDatabase } from "../test/helpers/database.js";
import { connectPostgres } from "./postgres.js";
import { median } from "./stats.js";
import { timedNode } from "./timed-node.js";
import { startDurableRedis } from "./durable-redis.js";
import { until, type Peer, type PeerLoad } from "./peer.js";
import { bullmq } from "./peer-bullmq.js";

const { values } = parseArgs({ options: { jobs: { type: "string", default: "10000" }, rounds: { type: "string", default: "2" } } });
const JOBS = Number(values.jobs);
const ROUNDS = Number(values.rounds);
const WARM_UP = 2000;
const CONCURRENCY = 8;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const progress = (line: string) => process.stderr.write(`[peers] ${line}\n`);

async function offlineJobs(): Promise<Peer> {
  const test: TestDatabase = await createTestDatabase({ migrate: false });
  const dir = makeTempDir("oj-peers-");
  const config = writeConfig(dir, { database: { url: test.url }, lockDir: path.join(dir, "locks") });
  const init = await runCli(["init"], { config });
  if (init.code !== 0) throw new Error(`offline-jobs init failed: ${init.stderr}`);
  const [server] = await test.query<{ v: string; f: string }>("SELECT VERSION() AS v, @@innodb_flush_log_at_trx_commit AS f");
  const insert = (n: number) => test.query("INSERT INTO job_queue (type, job_data) VALUES ?", [Array.from({ length: n }, () => ["noop", "{}"])]);
  const complete = async () => Number((await test.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status = 'complete'"))[0]!.n);
  return {
    name: "offline-jobs (MariaDB)",
    durability: `MariaDB ${server!.v}, innodb_flush_log_at_trx_commit=${server!.f}: durable`,
    async warm() {
      await test.query("TRUNCATE TABLE job_queue");
      const worker = startCli(["work", "--max-jobs", String(CONCURRENCY), "--quiet"], { config });
      const ended = collect(worker, 3_600_000);
      try {
        await sleep(1500);
        await insert(WARM_UP);
        await until(async () => (await complete()) === WARM_UP, "the warm-up jobs");
        // Not TRUNCATE: the idle worker watches the newest ref, which must keep growing.
        await test.query("DELETE FROM job_queue");
        await sleep(1000);
        await insert(JOBS);
        await until(async () => (await complete()) === JOBS, "the jobs");
        const [span] = await test.query<{ ms: number }>("SELECT TIMESTAMPDIFF(MICROSECOND, MIN(created_at), MAX(finished_at)) / 1000 AS ms FROM job_queue");
        return (JOBS / Number(span!.ms)) * 1000;
      } finally {
        killTree(worker, "SIGTERM");
        await ended;
      }
    },
    async cold() {
      await test.query("TRUNCATE TABLE job_queue");
      await insert(JOBS);
      const started = performance.now();
      const run = await runCli(["run", "--max-jobs", String(CONCURRENCY), "--quiet"], { config, timeoutMs: 600_000 });
      const ms = performance.now() - started;
      if (run.code !== 0) throw new Error(`offline-jobs run exited ${run.code}: ${run.stderr}`);
      if ((await complete()) !== JOBS) throw new Error("offline-jobs run left jobs undone");
      return (JOBS / ms) * 1000;
    },
    async close() {
      await test.drop();
    },
  };
}

async function graphileWorker(): Promise<Peer | string> {
  const postgres = await connectPostgres("test");
  if (typeof postgres === "string") return postgres;
  const { pg, admin, pgUrl } = postgres;
  const settings = await admin.query<{ name: string; setting: string }>("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit')");
  const setting = (name: string) => settings.rows.find((r) => r.name === name)?.setting;
  const { run, makeWorkerUtils, Logger } = await import("graphile-worker");
  const schema = `oj_peers_${randomBytes(4).toString("hex")}`;
  const logger = new Logger(() => () => undefined);
  const pgPool = new pg.Pool({ connectionString: pgUrl, max: 12 });
  // graphile-worker asks for both: an idle client's error must not crash the bench.
  pgPool.on("error", () => undefined);
  pgPool.on("connect", (client) => client.on("error", () => undefined));
  const utils = await makeWorkerUtils({ pgPool, schema, logger });
  await utils.migrate();
  const specs = (n: number) => Array.from({ length: n }, (_, i) => ({ identifier: "noop", payload: { i } }));
  const left = async () => Number((await admin.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${schema}._private_jobs`)).rows[0]!.n);
  return {
    name: "graphile-worker 0.17 (PostgreSQL)",
    durability: `PostgreSQL fsync=${setting("fsync")}, synchronous_commit=${setting("synchronous_commit")}: ${setting("fsync") === "on" && setting("synchronous_commit") !== "off" ? "durable" : "NOT durable"}`,
    async warm() {
      let completed = 0;
      let last = 0;
      const runner = await run({
        pgPool,
        schema,
        concurrency: CONCURRENCY,
        noHandleSignals: true,
        pollInterval: 2000,
        logger,
        taskList: { noop: async () => undefined },
      });
      runner.events.on("job:complete", () => {
        completed++;
        last = performance.now();
      });
      try {
        await utils.addJobs(specs(WARM_UP));
        await until(() => completed >= WARM_UP, "the warm-up jobs");
        completed = 0;
        await until(async () => (await left()) === 0, "the warm-up jobs' rows to go");
        const started = performance.now();
        await utils.addJobs(specs(JOBS));
        await until(() => completed >= JOBS, "the jobs");
        await until(async () => (await left()) === 0, "the jobs' rows to go");
        return (JOBS / (last - started)) * 1000;
      } finally {
        await runner.stop();
      }
    },
    async cold() {
      await utils.addJobs(specs(JOBS));
      const ms = await timedNode([path.join(HERE, "peer-graphile-once.js")], { ...process.env, OJ_PG_URL: pgUrl, OJ_PG_SCHEMA: schema });
      if ((await left()) !== 0) throw new Error("graphile-worker's runOnce left jobs undone");
      return (JOBS / ms) * 1000;
    },
    async close() {
      await utils.release();
      await pgPool.end();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await admin.end();
    },
  };
}

const peers: Array<Peer | string> = [];
const skipped: Array<[string, string]> = [];
const load: PeerLoad = { jobs: JOBS, warmUp: WARM_UP, concurrency: CONCURRENCY };
/** BullMQ on a private Redis that fsyncs its append-only file before answering: the like-for-like figure. */
async function bullmqDurable(): Promise<Peer | string> {
  const redis = await startDurableRedis();
  if (typeof redis === "string") return `skipped: ${redis}`;
  return bullmq(redis.url, "Redis, AOF fsync always", load, redis.stop);
}
for (const [name, open] of [
  ["offline-jobs", offlineJobs],
  ["graphile-worker", graphileWorker],
  ["BullMQ", () => bullmq(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "Redis as configured here", load)],
  ["BullMQ, durable", bullmqDurable],
] as const) {
  const peer = await open();
  if (typeof peer === "string") skipped.push([name, peer]);
  peers.push(peer);
}
const open = peers.filter((p): p is Peer => typeof p !== "string");
const figures = new Map(open.map((p) => [p, { warm: [] as number[], cold: [] as number[] }]));
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of ["warm", "cold"] as const) {
      for (const peer of open) {
        const jobsPerSecond = await peer[mode]();
        figures.get(peer)![mode].push(jobsPerSecond);
        progress(`round ${round}: ${peer.name}, ${mode}: ${Math.round(jobsPerSecond)} jobs/s`);
      }
    }
  }
} finally {
  for (const peer of open) await peer.close().catch((error) => progress(`could not clean up after ${peer.name}: ${(error as Error).message}`));
}

const num = (n: number) => Math.round(n).toLocaleString("en-US");
const ours = open[0]!;
const ratio = (peer: Peer, mode: "warm" | "cold") => median(figures.get(ours)![mode]) / median(figures.get(peer)![mode]);
const rows = [
  ["", "warm worker, jobs/s", "cold run, jobs/s", "offline-jobs ahead (warm, cold)", "durability in this run"],
  ...open.map((peer) => [
    peer.name,
    num(median(figures.get(peer)!.warm)),
    num(median(figures.get(peer)!.cold)),
    peer === ours ? "" : `${ratio(peer, "warm").toFixed(2)}x, ${ratio(peer, "cold").toFixed(2)}x`,
    peer.durability,
  ]),
];
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
console.log(
  `${num(JOBS)} no-op jobs at concurrency ${CONCURRENCY}, median of ${ROUNDS} round(s); host load average at the end ${(await import("node:os")).loadavg()[0]!.toFixed(1)}`,
);
for (const row of rows)
  console.log(
    row
      .map((cell, i) => (i === 0 || i === 4 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
for (const [name, why] of skipped) console.log(`${name}: ${why}`);
for (const peer of open)
  console.log(`${peer.name}: warm ${figures.get(peer)!.warm.map(num).join(", ")}; cold ${figures.get(peer)!.cold.map(num).join(", ")} jobs/s`);
console.log(
  "warm: from the statement that added the jobs to the last completion, a worker already running and warmed up by 2,000 jobs; cold: from spawning a process (offline-jobs run, graphile-worker runOnce, a BullMQ worker that closes when drained) to its exit, the jobs there before it.",
);
