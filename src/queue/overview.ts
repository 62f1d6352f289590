import { UsageError } from "../errors.js";
import type { JobStatus } from "./admin.js";
import { rows, type Database } from "./db.js";
import { matchCondition, type JobScope } from "./job-query.js";

/**
 * The jobs page's overview: counts by type × status (each capped), the oldest due job's
 * wait, jobs stuck running past their lease, and the last 24 hours: finished jobs per hour
 * and durations per type. Every statement applies the scope.
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
  /** Over the last 24 hours' finished jobs (complete or failed), per type: duration (finished_at - started_at) p50 and p95 in seconds. */
  durations: Array<{ type: string; count: number; p50Seconds: number; p95Seconds: number }>;
}

/** The first hour of the chart: the start of the hour 23 hours before the current one, in the server's time. */
const CHART_START = "CAST(DATE_FORMAT(NOW(3), '%Y-%m-%d %H:00:00') AS DATETIME) - INTERVAL 23 HOUR";

/**
 * The (type, status) pairs present, then each pair's count up to cap + 1 in one UNION ALL:
 * a pair with millions of rows costs no more than one with cap.
 */
async function cappedCounts(db: Database, scope: JobScope, cap: number): Promise<Overview["counts"]> {
  const { where, params } = matchCondition(scope, {});
  const pairs = await rows<{ type: string; status: JobStatus }>(
    db.pool,
    `SELECT type, status FROM ${db.quoted()} WHERE ${where} GROUP BY type, status ORDER BY type, status`,
    params,
  );
  if (pairs.length === 0) return [];
  const parts: string[] = [];
  const partParams: unknown[] = [];
  pairs.forEach((pair, i) => {
    parts.push(`SELECT ${i} AS i, COUNT(*) AS n FROM (SELECT 1 FROM ${db.quoted()} WHERE ${where} AND type = ? AND status = ? LIMIT ?) AS p${i}`);
    partParams.push(...params, pair.type, pair.status, cap + 1);
  });
  const counted = await rows<{ i: number; n: number }>(db.pool, parts.join(" UNION ALL "), partParams);
  const byIndex = new Map(counted.map((row) => [Number(row.i), Number(row.n)]));
  return pairs.map((pair, i) => {
    const n = byIndex.get(i) ?? 0;
    return { type: pair.type, status: pair.status, count: Math.min(n, cap), capped: n > cap };
  });
}

async function waits(db: Database, scope: JobScope): Promise<{ oldest: number | null; stuck: number }> {
  const { where, params } = matchCondition(scope, {});
  const [row] = await rows<{ oldest: number | null; stuck: number }>(
    db.pool,
    `SELECT (SELECT TIMESTAMPDIFF(SECOND, MIN(GREATEST(run_after, created_at)), NOW(3)) FROM ${db.quoted()}
              WHERE status = 'pending' AND run_after <= NOW(3) AND ${where}) AS oldest,
            (SELECT COUNT(*) FROM ${db.quoted()}
              WHERE status = 'running' AND (lease_until IS NULL OR lease_until < NOW(3)) AND ${where}) AS stuck`,
    [...params, ...params],
  );
  return { oldest: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest), stuck: Number(row?.stuck ?? 0) };
}

async function hourly(db: Database, scope: JobScope): Promise<Overview["hours"]> {
  const { where, params } = matchCondition(scope, {});
  const found = await rows<{ hour: string; complete: number; failed: number }>(
    db.pool,
    `WITH RECURSIVE chart (n, start) AS (
       SELECT 0, ${CHART_START}
       UNION ALL SELECT n + 1, start + INTERVAL 1 HOUR FROM chart WHERE n < 23)
     SELECT DATE_FORMAT(chart.start, '%Y-%m-%d %H:00') AS hour, COALESCE(done.complete, 0) AS complete, COALESCE(done.failed, 0) AS failed
       FROM chart LEFT JOIN (
         SELECT DATE_FORMAT(finished_at, '%Y-%m-%d %H:00') AS hour, SUM(status = 'complete') AS complete, SUM(status = 'failed') AS failed
           FROM ${db.quoted()}
          WHERE status IN ('complete', 'failed') AND finished_at >= ${CHART_START} AND ${where}
          GROUP BY 1) AS done ON done.hour = DATE_FORMAT(chart.start, '%Y-%m-%d %H:00')
      ORDER BY chart.n`,
    params,
  );
  return found.map((row) => ({ hour: row.hour, complete: Number(row.complete), failed: Number(row.failed) }));
}

async function durations(db: Database, scope: JobScope): Promise<Overview["durations"]> {
  const { where, params } = matchCondition(scope, {});
  const found = await rows<{ type: string; count: number; p50: number | string; p95: number | string }>(
    db.pool,
    `SELECT type, COUNT(*) AS count, MIN(p50) AS p50, MIN(p95) AS p95 FROM (
       SELECT type,
              PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY seconds) OVER (PARTITION BY type) AS p50,
              PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY seconds) OVER (PARTITION BY type) AS p95
         FROM (SELECT type, TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) / 1000000 AS seconds FROM ${db.quoted()}
                WHERE status IN ('complete', 'failed') AND finished_at >= NOW(3) - INTERVAL 24 HOUR AND started_at IS NOT NULL AND ${where}) AS finished
     ) AS ranked GROUP BY type ORDER BY type`,
    params,
  );
  return found.map((row) => ({ type: row.type, count: Number(row.count), p50Seconds: Number(row.p50), p95Seconds: Number(row.p95) }));
}

export async function readOverview(db: Database, scope: JobScope, options: { countCap: number }): Promise<Overview> {
  if (!Number.isInteger(options.countCap) || options.countCap < 1) throw new UsageError("the count cap must be a whole number of 1 or more");
  const [counts, wait, hours, perType] = await Promise.all([
    cappedCounts(db, scope, options.countCap),
    waits(db, scope),
    hourly(db, scope),
    durations(db, scope),
  ]);
  return { counts, oldestDueWaitSeconds: wait.oldest, stuckRunning: wait.stuck, hours, durations: perType };
}
