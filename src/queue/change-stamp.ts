import { rows, type Database } from "./db.js";
import { matchCondition, type JobScope } from "./job-query.js";

/**
 * A cheap "has anything changed?" for a page that refreshes itself: one statement whose
 * answer differs whenever a job the scope sees was added, changed status, priority or
 * progress, or finished. The page asks it every few seconds and runs its own statements only
 * when the stamp moved, so an open page on a quiet queue costs the database one small
 * statement per refresh.
 *
 * What it reads: the newest ref (one step down an index); over the active rows (pending and
 * running, the small set the claim index holds) their number, the sum of their priorities
 * and progress and their newest start; over the finished ones, each status's newest
 * finished_at (one step down the (status, finished_at) index each). What it cannot see: a
 * finished job deleted (clear, purge, retention) or an old job's row edited by hand; a page
 * that must show those redraws in full now and then anyway (every minute, say).
 */
export async function readChangeStamp(db: Database, scope: JobScope): Promise<string> {
  const { where, params } = matchCondition(scope, {});
  const newestFinished = (status: string) =>
    `(SELECT finished_at FROM ${db.quoted()} WHERE status = '${status}' AND finished_at IS NOT NULL AND ${where} ORDER BY finished_at DESC LIMIT 1)`;
  const [row] = await rows<{ stamp: string | null }>(
    db.pool,
    `SELECT CONCAT_WS('/',
        COALESCE((SELECT CAST(ref AS CHAR) FROM ${db.quoted()} WHERE ${where} ORDER BY ref DESC LIMIT 1), '-'),
        (SELECT CONCAT_WS(',', COUNT(*), COALESCE(SUM(priority), 0), COALESCE(SUM(status = 'running'), 0), COALESCE(SUM(progress), 0),
                          COALESCE(MAX(started_at), '-'))
           FROM ${db.quoted()} WHERE status IN ('pending', 'running') AND ${where}),
        COALESCE(${newestFinished("complete")}, '-'), COALESCE(${newestFinished("failed")}, '-'), COALESCE(${newestFinished("cancelled")}, '-')
      ) AS stamp`,
    [...params, ...params, ...params, ...params, ...params],
  );
  return row?.stamp ?? "";
}
