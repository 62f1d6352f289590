import { rows, type Database } from "./db.js";
import { matchCondition, type JobScope } from "./job-query.js";

/**
 * A cheap "has anything changed?" for a page that refreshes itself: one statement whose
 * answer differs whenever a job the scope sees was added, claimed, boosted, cancelled,
 * retried, moved its progress or finished. The page asks it every few seconds and runs its
 * own statements only when the stamp moved, so an open page on a quiet queue costs the
 * database one small statement per refresh.
 *
 * What it reads: the active rows only (pending and running, the small set the claim index
 * holds; for a scope, its range of (user, status, …)): per status their number and the sums
 * of their refs and priorities, and for running rows their progress and newest start. Every
 * change above adds or removes an active row or changes one of those, so the sums move. What
 * it cannot see: a change to a finished job alone (deleted by clear, purge or retention, or
 * a row edited by hand); a page that must show those redraws in full now and then anyway
 * (every minute, say).
 */
export async function readChangeStamp(db: Database, scope: JobScope): Promise<string> {
  const { where, params } = matchCondition(scope, {});
  const [row] = await rows<{ pending: string | null; running: string | null }>(
    db.pool,
    `SELECT (SELECT CONCAT_WS(',', COUNT(*), COALESCE(SUM(ref), 0), COALESCE(SUM(priority), 0))
               FROM ${db.quoted()} WHERE status = 'pending' AND ${where}) AS pending,
            (SELECT CONCAT_WS(',', COUNT(*), COALESCE(SUM(ref), 0), COALESCE(SUM(priority), 0), COALESCE(SUM(progress), 0), COALESCE(MAX(started_at), '-'))
               FROM ${db.quoted()} WHERE status = 'running' AND ${where}) AS running`,
    [...params, ...params],
  );
  return `${row?.pending ?? ""}/${row?.running ?? ""}`;
}
