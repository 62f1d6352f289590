import { execute, rows, withRetry, type Database } from "./db.js";

/**
 * Deleting jobs: `clear`, `purge` and retention (src/runner/loop/housekeeping.ts), and the end of
 * cancels that nobody recorded. Every delete goes a chunk at a time by primary key.
 */

/** Finished: complete, failed, or cancelled and no longer held by a process that is stopping it. */
export const INACTIVE = "status IN ('complete', 'failed', 'cancelled') AND (status <> 'cancelled' OR lease_until IS NULL OR lease_until < NOW(3))";

/** Deletes run in chunks so that no statement holds many row locks or a large undo log. */
const DELETE_CHUNK = 1000;

/**
 * Deletes the rows matching `where` (a fixed fragment of this file, with `params`), at most
 * `maxRows`, a chunk at a time: refs are selected first, then deleted by primary key with the
 * condition checked again, in case a row changed in between (a retry, say).
 */
export async function deleteWhere(db: Database, where: string, params: unknown[], maxRows = Infinity): Promise<number> {
  let deleted = 0;
  while (deleted < maxRows) {
    const chunk = Math.min(DELETE_CHUNK, maxRows - deleted);
    const found = await rows<{ ref: number }>(db.pool, `SELECT ref FROM ${db.quoted()} WHERE ${where} LIMIT ?`, [...params, chunk]);
    if (found.length === 0) break;
    const header = await withRetry(() =>
      execute(db.pool, `DELETE FROM ${db.quoted()} WHERE ref IN (?) AND ${where}`, [found.map((row) => row.ref), ...params]),
    );
    deleted += header.affectedRows;
    if (found.length < chunk) break;
  }
  return deleted;
}

/** `clear --user U` / `clear --all`: deletes finished jobs (complete, failed, cancelled). */
export async function clearInactiveJobs(db: Database, options: { user?: string }): Promise<number> {
  if (options.user === undefined) return deleteWhere(db, INACTIVE, []);
  return deleteWhere(db, `${INACTIVE} AND user = ?`, [options.user]);
}

/** What `clear --everything` is about to delete, for its warning. */
export async function countJobs(db: Database): Promise<{ total: number; running: number; maxRef: number | string }> {
  const [row] = await rows<{ total: number; running: number | null; maxRef: number | string | null }>(
    db.pool,
    `SELECT COUNT(*) AS total, SUM(status = 'running') AS running, MAX(ref) AS maxRef FROM ${db.quoted()}`,
  );
  // maxRef as the server sent it: beyond 2^53 a string, which clearEverything passes back unrounded.
  return { total: Number(row?.total ?? 0), running: Number(row?.running ?? 0), maxRef: row?.maxRef ?? 0 };
}

/**
 * AtoM's jobs:clear: deletes every job up to `maxRef` (the newest when the operator
 * confirmed), whatever its status, so that jobs added meanwhile survive. Running jobs' processes
 * find their rows gone at their next heartbeat and abandon them.
 */
export async function clearEverything(db: Database, maxRef: number | string): Promise<number> {
  return deleteWhere(db, "ref <= ?", [maxRef]);
}

export const PURGEABLE = ["complete", "failed", "cancelled"] as const;
export type PurgeableStatus = (typeof PURGEABLE)[number];

/**
 * Deletes finished jobs of `statuses` that finished more than `olderThanDays` ago (a job an
 * application cancelled by hand has no finished_at: its created_at counts instead).
 */
export async function purgeJobs(db: Database, options: { olderThanDays: number; statuses: readonly PurgeableStatus[]; maxRows?: number }): Promise<number> {
  if (options.statuses.length === 0) return 0;
  return deleteWhere(
    db,
    `${INACTIVE} AND status IN (?) AND COALESCE(finished_at, created_at) < NOW(3) - INTERVAL ? SECOND`,
    [options.statuses, Math.round(options.olderThanDays * 86400)],
    options.maxRows,
  );
}

/**
 * Cancelled while running, but never recorded as ended: its process died, or it had claimed
 * the job without starting it. Once the lease has lapsed nobody will record it, so it gets
 * its finished_at here.
 */
export async function settleAbandonedCancels(db: Database): Promise<number> {
  const header = await withRetry(() =>
    execute(
      db.pool,
      `UPDATE ${db.quoted()} SET finished_at = NOW(3), lease_until = NULL
        WHERE status = 'cancelled' AND finished_at IS NULL AND lease_until < NOW(3)`,
    ),
  );
  return header.affectedRows;
}
