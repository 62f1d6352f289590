import { UsageError } from "../errors.js";
import type { JobStatus } from "./admin.js";
import { rows, type Database } from "./db.js";
import { matchCondition, type JobScope } from "./job-query.js";

/**
 * The jobs page's overview: counts by type × status (each capped), the oldest due job's
 * wait, jobs stuck running past their lease, and the last 24 hours: finished jobs per hour
 * and durations per type. Three statements, every one within the scope, each reading a
 * bounded number of index entries whatever the table's size (bench/web.ts):
 *
 * 1. The (status, type) pairs present in the whole table: a loose index scan of
 *    (status, type, finished_at), one index dive per pair. Not scoped: a scoped page counts
 *    each pair within its scope below and drops those it has none of, which reads only the
 *    scope's entries of (user, status, type, finished_at), where a scan for its own pairs
 *    would read all of that user's rows.
 * 2. Every number, as rows of one UNION ALL: each pair's count up to cap + 1; the chart's 48
 *    counts (an hour × complete or failed, an index range per type each); each type's
 *    finished jobs of the last 24 hours (capped too); the oldest due job's wait and the stuck
 *    running jobs (the claim index's pending and running ranges).
 * 3. Durations: for each type, the newest DURATION_SAMPLE complete or failed jobs of the
 *    last 24 hours (newest first down the same index) and PERCENTILE_CONT over them. A busy
 *    day finishes hundreds of thousands of jobs; the median of the newest thousand of a type
 *    is the figure an operator wants, and reading them all would cost seconds.
 */

export interface Overview {
  /** One entry per (type, status) present; count capped at countCap (capped: true). */
  counts: Array<{ type: string; status: JobStatus; count: number; capped: boolean }>;
  /** Seconds the oldest due pending job has waited (NOW - max(run_after, created_at)); null if none. */
  oldestDueWaitSeconds: number | null;
  /** Running rows whose lease_until is in the past (held by nobody alive), or that have none. */
  stuckRunning: number;
  /** 24 entries, oldest first: each hour (server time, "YYYY-MM-DD HH:00") with complete and failed counts (by finished_at). */
  hours: Array<{ hour: string; complete: number; failed: number }>;
  /**
   * Per type with complete or failed jobs in the last 24 hours: how many (count, capped at
   * countCap), and the duration (finished_at - started_at) p50 and p95 in seconds over the
   * newest `sampled` of them (at most DURATION_SAMPLE).
   */
  durations: Array<{ type: string; count: number; capped: boolean; sampled: number; p50Seconds: number; p95Seconds: number }>;
}

/** Finished jobs per type whose durations make the percentiles (the newest). */
export const DURATION_SAMPLE = 1000;

/** The first hour of the chart: the start of the hour 23 hours before the current one, in the server's time. */
const CHART_START = "CAST(DATE_FORMAT(NOW(3), '%Y-%m-%d %H:00:00') AS DATETIME) - INTERVAL 23 HOUR";
const FINISHED = ["complete", "failed"] as const;

interface Pair {
  status: JobStatus;
  type: string;
}

/**
 * A table may hold any number of types (an application writes them); the overview shows the
 * first MAX_PAIRS pairs by type and the durations of the first MAX_DURATION_TYPES types, so
 * that its statements stay bounded too.
 */
const MAX_PAIRS = 1000;
const MAX_DURATION_TYPES = 100;

async function presentPairs(db: Database): Promise<{ pairs: Pair[]; all: boolean }> {
  const pairs = await rows<Pair>(db.pool, `SELECT status, type FROM ${db.quoted()} GROUP BY status, type ORDER BY type, status LIMIT ?`, [MAX_PAIRS + 1]);
  return { pairs: pairs.slice(0, MAX_PAIRS), all: pairs.length <= MAX_PAIRS };
}

/** A part of the numbers' UNION ALL: SQL yielding (kind, i, n) rows, n as text, and its parameters. */
interface Part {
  sql: string;
  params: unknown[];
}

function numberParts(db: Database, scope: JobScope, present: { pairs: Pair[]; all: boolean }, finishedTypes: string[], cap: number): Part[] {
  const { pairs } = present;
  const { where, params } = matchCondition(scope, {});
  const table = db.quoted();
  const parts: Part[] = pairs.map((pair, i) => ({
    sql: `SELECT 'count' AS kind, ${i} AS i, CAST(COUNT(*) AS CHAR) AS n FROM (SELECT 1 FROM ${table} WHERE status = ? AND type = ? AND ${where} LIMIT ?) AS c`,
    params: [pair.status, pair.type, ...params, cap + 1],
  }));
  for (let hour = 0; hour < 24; hour++) {
    parts.push({ sql: `SELECT 'hour', ${hour}, DATE_FORMAT(${CHART_START} + INTERVAL ${hour} HOUR, '%Y-%m-%d %H:00')`, params: [] });
    for (const status of FINISHED) {
      const types = pairs.filter((pair) => pair.status === status).map((pair) => pair.type);
      if (types.length === 0 && present.all) continue;
      // Naming the types turns (status, type, finished_at) into one short range per type;
      // with more pairs than were read, the hour is counted without them (slower, still right).
      const ofTypes = present.all ? "type IN (?) AND" : "";
      parts.push({
        sql: `SELECT '${status}', ${hour}, CAST(COUNT(*) AS CHAR) FROM ${table}
               WHERE status = '${status}' AND ${ofTypes} finished_at >= ${CHART_START} + INTERVAL ${hour} HOUR
                 AND finished_at < ${CHART_START} + INTERVAL ${hour + 1} HOUR AND ${where}`,
        params: present.all ? [types, ...params] : params,
      });
    }
  }
  finishedTypes.forEach((type, i) => {
    parts.push({
      sql: `SELECT 'finished', ${i}, CAST(COUNT(*) AS CHAR) FROM (SELECT 1 FROM ${table}
              WHERE status IN ('complete', 'failed') AND type = ? AND finished_at >= NOW(3) - INTERVAL 24 HOUR AND ${where} LIMIT ?) AS f`,
      params: [type, ...params, cap + 1],
    });
  });
  parts.push(
    {
      sql: `SELECT 'oldest', 0, CAST(TIMESTAMPDIFF(SECOND, MIN(GREATEST(run_after, created_at)), NOW(3)) AS CHAR) FROM ${table}
             WHERE status = 'pending' AND run_after <= NOW(3) AND ${where}`,
      params,
    },
    {
      sql: `SELECT 'stuck', 0, CAST(COUNT(*) AS CHAR) FROM ${table} WHERE status = 'running' AND (lease_until IS NULL OR lease_until < NOW(3)) AND ${where}`,
      params,
    },
  );
  return parts;
}

async function durations(db: Database, scope: JobScope, types: string[]): Promise<Map<string, { sampled: number; p50: number; p95: number }>> {
  if (types.length === 0) return new Map();
  const { where, params } = matchCondition(scope, {});
  const newest = (status: string) => `(SELECT finished_at, TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) / 1000000 AS seconds FROM ${db.quoted()}
      WHERE status = '${status}' AND type = ? AND finished_at >= NOW(3) - INTERVAL 24 HOUR AND started_at IS NOT NULL AND ${where}
      ORDER BY finished_at DESC LIMIT ${DURATION_SAMPLE})`;
  const perType = types.map(
    (_, i) => `SELECT ${i} AS i, seconds FROM (SELECT seconds FROM (${newest("complete")} UNION ALL ${newest("failed")}) AS both_${i}
                 ORDER BY finished_at DESC LIMIT ${DURATION_SAMPLE}) AS sample_${i}`,
  );
  const found = await rows<{ i: number; sampled: number; p50: number | string; p95: number | string }>(
    db.pool,
    `SELECT i, COUNT(*) AS sampled, MIN(p50) AS p50, MIN(p95) AS p95 FROM (
       SELECT i, PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY seconds) OVER (PARTITION BY i) AS p50,
                 PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY seconds) OVER (PARTITION BY i) AS p95
         FROM (${perType.join(" UNION ALL ")}) AS samples) AS ranked
     GROUP BY i`,
    types.flatMap((type) => [type, ...params, type, ...params]),
  );
  return new Map(found.map((row) => [types[Number(row.i)]!, { sampled: Number(row.sampled), p50: Number(row.p50), p95: Number(row.p95) }]));
}

export async function readOverview(db: Database, scope: JobScope, options: { countCap: number }): Promise<Overview> {
  const cap = options.countCap;
  if (!Number.isInteger(cap) || cap < 1) throw new UsageError("the count cap must be a whole number of 1 or more");
  matchCondition(scope, {});
  const present = await presentPairs(db);
  const { pairs } = present;
  const finishedTypes = [...new Set(pairs.filter((pair) => pair.status === "complete" || pair.status === "failed").map((pair) => pair.type))].slice(
    0,
    MAX_DURATION_TYPES,
  );
  const parts = numberParts(db, scope, present, finishedTypes, cap);
  const [numbers, samples] = await Promise.all([
    rows<{ kind: string; i: number; n: string | null }>(
      db.pool,
      parts.map((part) => part.sql).join(" UNION ALL "),
      parts.flatMap((part) => part.params),
    ),
    durations(db, scope, finishedTypes),
  ]);
  const pairCounts = new Map<number, number>();
  const hours: Overview["hours"] = [];
  const finished = new Map<number, number>();
  let oldest: number | null = null;
  let stuck = 0;
  for (const { kind, i, n } of numbers) {
    const index = Number(i);
    if (kind === "count") pairCounts.set(index, Number(n));
    else if (kind === "hour") hours[index] = { hour: String(n), complete: 0, failed: 0 };
    else if (kind === "complete" || kind === "failed") (hours[index] ??= { hour: "", complete: 0, failed: 0 })[kind] = Number(n);
    else if (kind === "finished") finished.set(index, Number(n));
    else if (kind === "oldest") oldest = n === null ? null : Number(n);
    else if (kind === "stuck") stuck = Number(n);
  }
  const counts = pairs
    .map((pair, i) => ({ ...pair, n: pairCounts.get(i) ?? 0 }))
    .filter((pair) => pair.n > 0)
    .map(({ type, status, n }) => ({ type, status, count: Math.min(n, cap), capped: n > cap }));
  const perType = finishedTypes.flatMap((type, i) => {
    const n = finished.get(i) ?? 0;
    const sample = samples.get(type);
    if (n === 0 || !sample) return [];
    return [{ type, count: Math.min(n, cap), capped: n > cap, sampled: sample.sampled, p50Seconds: sample.p50, p95Seconds: sample.p95 }];
  });
  return { counts, oldestDueWaitSeconds: oldest, stuckRunning: stuck, hours, durations: perType };
}
