/**
 * The jobs page's database side at 1,000,000 rows (npm run bench:web): each function the page
 * calls on a refresh, timed as the server answers it (median of --repeat calls, after one
 * call to warm up), for an administrator (view_all) and for one user of 50 (scoped), against
 * the 200 ms target; the statements each sends, so what an open page costs the database per
 * refresh; and with --explain, each statement's EXPLAIN. Prints figures; asserts no timings.
 *
 *   npm run bench:web                         1,000,000 rows, 20 calls each, on a private MariaDB
 *   npm run bench:web -- --rows 100000 --repeat 5 --server shared
 *
 * A private server (stock 128 MB buffer pool) keeps other clients' work out of the figures;
 * the machine's other load is not kept out: run it twice and read the medians.
 */
import os from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import mysql from "mysql2/promise";
import { getJob } from "../src/queue/admin.js";
import { openDatabase, type Database } from "../src/queue/db.js";
import { readChangeStamp } from "../src/queue/change-stamp.js";
import { countMatchingJobs } from "../src/queue/job-matches.js";
import { listJobPage } from "../src/queue/job-page.js";
import type { JobQuery, JobScope } from "../src/queue/job-query.js";
import { applyMigrations } from "../src/queue/migrations.js";
import { readOverview } from "../src/queue/overview.js";
import { openBenchDatabase } from "./bench-database.js";
import { median, percentile } from "./stats.js";
import { fillJobs, TYPES } from "./web-fill.js";
import { measureIndexCost } from "./web-index-cost.js";

const TARGET_MS = 200;
const COUNT_CAP = 10_000;
/** The page's auto refresh. */
const REFRESH_SECONDS = 5;
const progress = (line: string) => process.stderr.write(`[bench:web] ${line}\n`);

function parseOptions(): { rows: number; repeat: number; server: "private" | "shared"; explain: boolean } {
  const { values } = parseArgs({
    options: {
      rows: { type: "string", default: "1000000" },
      repeat: { type: "string", default: "20" },
      server: { type: "string", default: "private" },
      explain: { type: "boolean", default: false },
    },
  });
  const int = (name: string, text: string) => {
    if (!/^\d+$/.test(text) || Number(text) < 1) {
      console.error(`--${name}: must be a whole number >= 1`);
      process.exit(2);
    }
    return Number(text);
  };
  if (values.server !== "private" && values.server !== "shared") {
    console.error("--server: private or shared");
    process.exit(2);
  }
  return { rows: int("rows", values.rows), repeat: int("repeat", values.repeat), server: values.server, explain: values.explain };
}

/** The statements a Database sends, recorded (for the count per call and for EXPLAIN). */
interface Recorder {
  db: Database;
  statements: Array<{ sql: string; params: unknown[] }>;
}

function recording(db: Database): Recorder {
  const statements: Recorder["statements"] = [];
  const pool = new Proxy(db.pool, {
    get(target, name) {
      if (name === "query") {
        return (sql: string, params: unknown[] = []) => {
          statements.push({ sql, params });
          return target.query(sql, params);
        };
      }
      const value = Reflect.get(target, name, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: { ...db, pool, quoted: db.quoted }, statements };
}

interface Operation {
  name: string;
  run: (db: Database) => Promise<unknown>;
}

function operations(scope: JobScope, who: string, sampleRef: number, createdFrom: Date, createdTo: Date, user: string): Operation[] {
  const page =
    (query: JobQuery, sort: "created" | "priority" | "ref" = "created") =>
    (db: Database) =>
      listJobPage(db, scope, query, { sort, direction: "desc", pageSize: 50 });
  const ops: Operation[] = [
    { name: "readOverview, fresh chart", run: (db) => readOverview(db, scope, { countCap: COUNT_CAP, freshChart: true }) },
    { name: "readOverview, a refresh", run: (db) => readOverview(db, scope, { countCap: COUNT_CAP }) },
    { name: "page: All (created)", run: page({}) },
    { name: "page: All (priority)", run: page({}, "priority") },
    { name: "page: All (ref)", run: page({}, "ref") },
  ];
  for (const status of ["pending", "running", "failed", "complete", "cancelled"] as const) {
    ops.push({ name: `page: ${status[0]!.toUpperCase()}${status.slice(1)}`, run: page({ status }) });
  }
  ops.push(
    { name: "page: Running (ref)", run: page({ status: "running" }, "ref") },
    { name: "page: Failed (priority)", run: page({ status: "failed" }, "priority") },
    { name: "page: rare type, failed", run: page({ status: "failed", types: ["rare_report"] }) },
    { name: "page: type + user + dates", run: page({ types: [TYPES[2]!], user, createdFrom, createdTo }) },
    { name: "page: job_data batch = b123", run: page({ dataField: { name: "batch", value: "b123" } }) },
    { name: "count: All (cap 10,000)", run: (db) => countMatchingJobs(db, scope, {}, COUNT_CAP) },
    { name: "count: Failed", run: (db) => countMatchingJobs(db, scope, { status: "failed" }, COUNT_CAP) },
    { name: "getJob", run: (db) => getJob(db, sampleRef) },
    { name: "readChangeStamp", run: (db) => readChangeStamp(db, scope) },
  );
  return ops.map((op) => ({ ...op, name: `${who}: ${op.name}` }));
}

async function explain(db: Database, statements: Recorder["statements"]): Promise<void> {
  for (const { sql, params } of statements) {
    const [plan] = await db.pool.query(`EXPLAIN ${mysql.format(sql, params as Parameters<typeof mysql.format>[1])}`);
    console.log(`\n${sql.replace(/\s+/g, " ").slice(0, 240)}`);
    console.table(plan as unknown[]);
  }
}

/** What an open page costs the database per refresh, from the statements each call sent. */
function idleCost(results: Array<{ name: string; queries: number }>): string {
  const statements = (name: string) => results.find((r) => r.name === `admin: ${name}`)?.queries ?? NaN;
  const list = statements("page: All (created)") + statements("count: All (cap 10,000)");
  const overview = statements("readOverview, a refresh");
  const stamp = statements("readChangeStamp");
  const perSecond = (n: number) => (n / REFRESH_SECONDS).toFixed(2);
  return [
    "",
    `An open page refreshing every ${REFRESH_SECONDS} s sends, per refresh:`,
    `  the list (a page and its capped count): ${list} statements, ${perSecond(list)}/s`,
    `  the overview: ${overview} statements, ${perSecond(overview)}/s`,
    `  readChangeStamp alone (redraw only when it moved): ${stamp} statement, ${perSecond(stamp)}/s while nothing changes;`,
    `  when it moved: ${perSecond(stamp + list)}/s for the list, ${perSecond(stamp + overview)}/s for the overview.`,
  ].join("\n");
}

async function main(): Promise<void> {
  const options = parseOptions();
  const { db: bench, where } = await openBenchDatabase(options.server, progress);
  const base = openDatabase(bench.url, "job_queue", 4);
  try {
    await applyMigrations(base);
    const fillStart = performance.now();
    await fillJobs((sql, params) => bench.query(sql, params), options.rows, progress);
    const fillSeconds = (performance.now() - fillStart) / 1000;
    const [info] = await bench.query<{ v: string; bp: string; n: number; sample: number; from: string; to: string }>(
      `SELECT VERSION() AS v, @@innodb_buffer_pool_size AS bp, (SELECT COUNT(*) FROM job_queue) AS n,
              (SELECT MAX(ref) DIV 2 FROM job_queue) AS sample,
              CAST(UNIX_TIMESTAMP(NOW() - INTERVAL 7 DAY) AS CHAR) AS \`from\`, CAST(UNIX_TIMESTAMP(NOW() - INTERVAL 3 DAY) AS CHAR) AS \`to\``,
    );
    const from = new Date(Number(info!.from) * 1000);
    const to = new Date(Number(info!.to) * 1000);
    const sampleRef = Number(info!.sample);
    const recorder = recording(base);
    const all = [...operations({}, "admin", sampleRef, from, to, "user07"), ...operations({ owner: "user07" }, "user07", sampleRef, from, to, "user07")];
    const results: Array<{ name: string; queries: number; median: number; p90: number }> = [];
    for (const op of all) {
      await op.run(recorder.db);
      recorder.statements.length = 0;
      const times: number[] = [];
      for (let i = 0; i < options.repeat; i++) {
        const start = performance.now();
        await op.run(recorder.db);
        times.push(performance.now() - start);
      }
      const queries = recorder.statements.length / options.repeat;
      if (options.explain) {
        console.log(`\n=== ${op.name}`);
        await explain(base, recorder.statements.slice(0, queries));
      }
      recorder.statements.length = 0;
      results.push({ name: op.name, queries, median: median(times), p90: percentile(times, 0.9) });
      progress(`${op.name}: ${median(times).toFixed(1)} ms`);
    }
    console.log(
      [
        `jobs page, database side: ${Number(info!.n).toLocaleString("en-US")} rows (filled in ${fillSeconds.toFixed(0)} s), median of ${options.repeat} calls after one warm-up`,
        `server: ${where}, ${info!.v}, buffer pool ${Number(info!.bp) / 2 ** 20} MB; host ${os.cpus().length} CPU(s), load average ${os.loadavg()[0]!.toFixed(2)}`,
        "",
        "| call | statements | median ms | p90 ms | under 200 ms |",
        "|---|---|---|---|---|",
        ...results.map((r) => `| ${r.name} | ${r.queries} | ${r.median.toFixed(1)} | ${r.p90.toFixed(1)} | ${r.median < TARGET_MS ? "yes" : "NO"} |`),
      ].join("\n"),
    );
    console.log(idleCost(results));
    console.log(await measureIndexCost((sql, params) => bench.query(sql, params), progress));
    const over = results.filter((r) => r.median >= TARGET_MS);
    console.log(over.length ? `\n${over.length} call(s) over ${TARGET_MS} ms at the median.` : `\nevery call under ${TARGET_MS} ms at the median.`);
  } finally {
    await base.close();
    await bench.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
