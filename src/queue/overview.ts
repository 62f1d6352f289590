import { UsageError } from "../errors.js";
import type { JobStatus } from "./admin.js";
import { rows, type Database } from "./db.js";
import { matchCondition, type JobScope } from "./job-query.js";
import { readChart, type PresentPairs } from "./overview-chart.js";

/**
 * The jobs page's overview: counts by type × status (each capped), the oldest due job's
 * wait, jobs stuck running past their lease, and the last 24 hours: finished jobs per hour
 * and durations per type. Four statements, every one within the scope, each reading a
 * bounded number of index entries whatever the table's size (bench/web.ts):
 *
 * 1. The (status, type) pairs present in the whole table: a loose index scan of
 *    (status, type, finished_at), one index dive per pair. Not scoped: a scoped page counts
 *    each pair within its scope below and drops those it has none of, which reads only the
 *    scope's entries of (user, status, type, finished_at), where a scan for its own pairs
 *    would read all of that user's rows.
 * 2. The counts, as rows of one UNION ALL: each pair's count up to cap + 1, the oldest due
 *    job's wait and the stuck running jobs (the claim index's pending and running ranges).
 * 3. The chart (overview-chart.ts): 48 range counts, the past 23 hours kept for a minute.
 * 4. Durations: for each type, the newest DURATION_SAMPLE complete or failed jobs of the
 *    last 24 hours (newest first down the same index) and PERCENTILE_CONT over them. A busy
 *    day finishes hundreds of thousands of jobs; the median of the newest few hundred of a
 *    type is the figure an operator wants, and reading them all would cost seconds.
 *
 * 2, 3 and 4 run at once, after 1.
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
   * Per type with complete or failed jobs in the last 24 hours: the duration (finished_at -
   * started_at) p50 and p95 in seconds over the newest `count` of them, at most
   * DURATION_SAMPLE (capped: more finished that day).
   */
  durations: Array<{ type: string; count: number; capped: boolean; p50Seconds: number; p95Seconds: number }>;
}

/** Finished jobs per type whose durations make the percentiles (the newest). */
export const DURATION_SAMPLE = 500;

/** The first hour of the chart: the start of the hour 23 hours before the current one, in the server's time. */

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

async function presentPairs(db: Database): Promise<PresentPairs> {
  const pairs = await rows<Pair>(db.pool, `SELECT status, type FROM ${db.quoted()} GROUP BY status, type ORDER BY type, status LIMIT ?`, [MAX_PAIRS + 1]);
  return { pairs: pairs.slice(0, MAX_PAIRS), all: pairs.length <= MAX_PAIRS };
}

/** A part of the numbers' UNION ALL: SQL yielding (kind, i, n) rows, n as text, and its parameters. */
interface Part {
  sql: string;
  params: unknown[];
}

function countParts(db: Database, scope: JobScope, pairs: Pair[], cap: number): Part[] {
  const { where, params } = matchCondition(scope, {});
  const table = db.quoted();
  const counts: Part[] = pairs.map((pair, i) => ({
    sql: `SELECT 'count' AS kind, ${i} AS i, CAST(COUNT(*) AS CHAR) AS n FROM (SELECT 1 FROM ${table} WHERE status = ? AND type = ? AND ${where} LIMIT ?) AS c`,
    params: [pair.status, pair.type, ...params, cap + 1],
  }));
  counts.push(
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
  return counts;
}

/** One UNION ALL of the parts: rows of (kind, i, n). */
async function unionOf(db: Database, parts: Part[]): Promise<Array<{ kind: string; i: number; n: string | null }>> {
  return rows(
    db.pool,
    parts.map((part) => part.sql).join(" UNION ALL "),
    parts.flatMap((part) => part.params),
  );
}

interface Durations {
  /** Jobs the percentiles are over (at most DURATION_SAMPLE). */
  count: number;
  /** More than DURATION_SAMPLE finished in the last 24 hours. */
  capped: boolean;
  p50: number;
  p95: number;
}

/**
 * Each type's newest DURATION_SAMPLE + 1 complete and as many failed jobs of the last 24
 * hours (two backward ranges of (status, type, finished_at, started_at), the index alone),
 * merged, newest first: at most a few thousand numbers, whose percentiles are taken here
 * over the first DURATION_SAMPLE (one more says there were more). Window functions over the
 * same rows on the server took three times as long.
 */
async function durations(db: Database, scope: JobScope, types: string[]): Promise<Map<string, Durations>> {
  if (types.length === 0) return new Map();
  const { where, params } = matchCondition(scope, {});
  const take = DURATION_SAMPLE + 1;
  const newest = (status: string) => `(SELECT finished_at, TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) / 1000000 AS seconds FROM ${db.quoted()}
      WHERE status = '${status}' AND type = ? AND finished_at >= NOW(3) - INTERVAL 24 HOUR AND started_at IS NOT NULL AND ${where}
      ORDER BY finished_at DESC LIMIT ${take})`;
  const perType = types.map(
    (_, i) => `SELECT ${i} AS i, seconds FROM (SELECT finished_at, seconds FROM (${newest("complete")} UNION ALL ${newest("failed")}) AS both_${i}
                 ORDER BY finished_at DESC LIMIT ${take}) AS sample_${i}`,
  );
  const found = await rows<{ i: number; seconds: number | string }>(
    db.pool,
    perType.join(" UNION ALL "),
    types.flatMap((type) => [type, ...params, type, ...params]),
  );
  const samples = new Map<number, number[]>();
  for (const row of found) {
    const sample = samples.get(Number(row.i)) ?? [];
    samples.set(Number(row.i), sample);
    // The newest first: the one past DURATION_SAMPLE only says there were more.
    if (sample.length <= DURATION_SAMPLE) sample.push(Number(row.seconds));
  }
  const out = new Map<string, Durations>();
  for (const [i, sample] of samples) {
    const used = sample.slice(0, DURATION_SAMPLE).sort((a, b) => a - b);
    out.set(types[i]!, { count: used.length, capped: sample.length > DURATION_SAMPLE, p50: percentile(used, 0.5), p95: percentile(used, 0.95) });
  }
  return out;
}

/** PERCENTILE_CONT's value: linear between the two nearest of the sorted values. */
function percentile(sorted: number[], p: number): number {
  const position = p * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  // Rounded to the microsecond, the columns' precision: 9.549999999999999 is 9.55.
  return Math.round((sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below)) * 1e6) / 1e6;
}

export async function readOverview(db: Database, scope: JobScope, options: { countCap: number; freshChart?: boolean }): Promise<Overview> {
  const cap = options.countCap;
  if (!Number.isInteger(cap) || cap < 1) throw new UsageError("the count cap must be a whole number of 1 or more");
  matchCondition(scope, {});
  const present = await presentPairs(db);
  const { pairs } = present;
  const finishedTypes = [...new Set(pairs.filter((pair) => pair.status === "complete" || pair.status === "failed").map((pair) => pair.type))].slice(
    0,
    MAX_DURATION_TYPES,
  );

  // Three statements at once: the server has cores to spare for them, and each is bounded.
  const [numbers, hours, perType] = await Promise.all([
    unionOf(db, countParts(db, scope, pairs, cap)),
    readChart(db, scope, present, options.freshChart === true),
    durations(db, scope, finishedTypes),
  ]);
  const pairCounts = new Map<number, number>();
  let oldest: number | null = null;
  let stuck = 0;
  for (const { kind, i, n } of numbers) {
    const index = Number(i);
    if (kind === "count") pairCounts.set(index, Number(n));
    else if (kind === "oldest") oldest = n === null ? null : Number(n);
    else if (kind === "stuck") stuck = Number(n);
  }
  const counts = pairs
    .map((pair, i) => ({ ...pair, n: pairCounts.get(i) ?? 0 }))
    .filter((pair) => pair.n > 0)
    .map(({ type, status, n }) => ({ type, status, count: Math.min(n, cap), capped: n > cap }));
  const durationsOut = finishedTypes.flatMap((type) => {
    const found = perType.get(type);
    return found ? [{ type, count: found.count, capped: found.capped, p50Seconds: found.p50, p95Seconds: found.p95 }] : [];
  });
  return { counts, oldestDueWaitSeconds: oldest, stuckRunning: stuck, hours, durations: durationsOut };
}
