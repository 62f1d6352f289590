import { rows, type Database } from "./db.js";
import { matchCondition, type JobScope } from "./job-query.js";
import type { JobStatus } from "./admin.js";

/**
 * The overview's 24-hour chart: complete and failed jobs per hour by finished_at, in the
 * server's time, oldest hour first. One UNION ALL of 48 counts (an hour × complete or
 * failed), each one short range of (status, type, finished_at) per type: exact, and the
 * overview's largest read, about as many index entries as jobs finished that day (200,000 on
 * bench/web.ts's busy day).
 *
 * A refreshing page asks for it every few seconds, and only the current hour grows: the 23
 * before it change only when jobs are deleted (clear, purge, retention) or a row is edited
 * by hand. So their counts are kept for CLOSED_HOURS_SECONDS per database and scope, and a
 * refresh within that reads the current hour alone. The labels are read every time, so
 * that when the hour turns, the kept counts are dropped and all 24 are read again.
 */

export type ChartHours = Array<{ hour: string; complete: number; failed: number }>;

export const CLOSED_HOURS_SECONDS = 60;
/** Scopes kept per database, at most (each a user of the page): past it, the cache starts over. */
const MAX_SCOPES = 1000;

const START = "CAST(DATE_FORMAT(NOW(3), '%Y-%m-%d %H:00:00') AS DATETIME) - INTERVAL 23 HOUR";
const FINISHED = ["complete", "failed"] as const;

interface Kept {
  first: string;
  until: number;
  hours: ChartHours;
}

const kept = new WeakMap<Database, Map<string, Kept>>();

/** The (status, type) pairs present, and whether that is all of them (else counts go without naming types). */
export interface PresentPairs {
  pairs: Array<{ status: JobStatus; type: string }>;
  all: boolean;
}

async function readHours(db: Database, scope: JobScope, present: PresentPairs, counted: number[]): Promise<ChartHours> {
  const { where, params } = matchCondition(scope, {});
  const parts: string[] = [];
  const partParams: unknown[] = [];
  for (let hour = 0; hour < 24; hour++) {
    parts.push(`SELECT 'hour' AS kind, ${hour} AS i, DATE_FORMAT(${START} + INTERVAL ${hour} HOUR, '%Y-%m-%d %H:00') AS n`);
    if (!counted.includes(hour)) continue;
    for (const status of FINISHED) {
      const types = present.pairs.filter((pair) => pair.status === status).map((pair) => pair.type);
      if (types.length === 0 && present.all) continue;
      // Naming the types turns (status, type, finished_at) into one short range per type;
      // with more pairs than were read, the hour is counted without them (slower, still right).
      parts.push(`SELECT '${status}', ${hour}, CAST(COUNT(*) AS CHAR) FROM ${db.quoted()}
          WHERE status = '${status}' AND ${present.all ? "type IN (?) AND" : ""} finished_at >= ${START} + INTERVAL ${hour} HOUR
            AND finished_at < ${START} + INTERVAL ${hour + 1} HOUR AND ${where}`);
      partParams.push(...(present.all ? [types] : []), ...params);
    }
  }
  const found = await rows<{ kind: string; i: number; n: string }>(db.pool, parts.join(" UNION ALL "), partParams);
  const hours: ChartHours = Array.from({ length: 24 }, () => ({ hour: "", complete: 0, failed: 0 }));
  for (const { kind, i, n } of found) {
    const entry = hours[Number(i)]!;
    if (kind === "hour") entry.hour = String(n);
    else if (kind === "complete" || kind === "failed") entry[kind] = Number(n);
  }
  return hours;
}

/** The chart; `fresh` reads all 24 hours (a Refresh button), else closed hours may come from the last minute's read. */
export async function readChart(db: Database, scope: JobScope, present: PresentPairs, fresh = false): Promise<ChartHours> {
  const scopes = kept.get(db) ?? new Map<string, Kept>();
  kept.set(db, scopes);
  const key = scope.owner === undefined ? "*" : `=${scope.owner}`;
  const before = scopes.get(key);
  if (before && before.until > Date.now() && !fresh) {
    const hours = await readHours(db, scope, present, [23]);
    if (hours[0]!.hour === before.first) return [...before.hours.map((hour) => ({ ...hour })), hours[23]!];
  }
  const hours = await readHours(
    db,
    scope,
    present,
    Array.from({ length: 24 }, (_, hour) => hour),
  );
  if (scopes.size >= MAX_SCOPES) scopes.clear();
  scopes.set(key, { first: hours[0]!.hour, until: Date.now() + CLOSED_HOURS_SECONDS * 1000, hours: hours.slice(0, 23).map((hour) => ({ ...hour })) });
  return hours;
}
