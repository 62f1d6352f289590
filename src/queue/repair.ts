import { MAX_REF } from "./claimed-job.js";
import { execute, rows, withTransaction, type Database, type PoolConnection } from "./db.js";
import { appendLog, logLine, logStamp } from "./log-append.js";

/**
 * The operator's repairs by ref: retry, boost, cancel (deleting jobs is in cleanup.ts). Each
 * acts on rows locked FOR UPDATE and reports, ref by ref, what it did and why it left a ref
 * alone, so the CLI can say so.
 */

/** A ref the statement left alone, and why (one short clause: "it is running"). */
export interface Skipped {
  ref: number;
  reason: string;
}

export interface RetryResult {
  retried: number[];
  skipped: Skipped[];
}

export interface BoostResult {
  boosted: number[];
  skipped: Skipped[];
}

export interface CancelResult {
  /** Were pending (or running under a lapsed lease): cancelled at once. */
  cancelled: number[];
  /** Were running: marked cancelled; the process running each stops it at its next heartbeat. */
  stopping: number[];
  /** Were cancelled already (still stopping or not): nothing to do, which is what was asked. */
  alreadyCancelled: number[];
  skipped: Skipped[];
}

/** Refs of `retry --failed` are handled this many at a time. */
const RETRY_CHUNK = 1000;

interface LockedRow {
  ref: number;
  status: string;
  job_code: string | null;
  locked_by: string | null;
  /** 1 while a lease is still running (a process holds the row). */
  leased: number;
}

/** The rows of `refs`, locked until the transaction ends, by ref. */
async function lockRows(sql: PoolConnection, db: Database, refs: number[]): Promise<Map<number, LockedRow>> {
  const found = await rows<LockedRow>(
    sql,
    `SELECT ref, status, job_code, locked_by, (lease_until IS NOT NULL AND lease_until >= NOW(3)) AS leased
       FROM ${db.quoted()} WHERE ref IN (?) FOR UPDATE`,
    [refs],
  );
  return new Map(found.map((row) => [Number(row.ref), { ...row, ref: Number(row.ref), leased: Number(row.leased) }]));
}

function stoppingReason(row: LockedRow): string {
  return `it was cancelled while running and ${row.locked_by ?? "its process"} is still stopping it; try again in a few seconds`;
}

/**
 * failed or cancelled → pending, due now, attempts reset to 0. The last error moves into the
 * log (so the history stays, and a later success does not show a stale error). A job whose
 * job_code another active job holds stays as it is: de-duplication wins over the retry.
 */
export async function retryJobs(db: Database, refs: number[], logMaxChars: number): Promise<RetryResult> {
  const unique = [...new Set(refs)];
  if (unique.length === 0) return { retried: [], skipped: [] };
  return withTransaction(db, async (sql) => {
    const locked = await lockRows(sql, db, unique);
    const skipped: Skipped[] = [];
    const plain: number[] = [];
    const coded: LockedRow[] = [];
    for (const ref of unique) {
      const row = locked.get(ref);
      if (!row) skipped.push({ ref, reason: "no such job" });
      else if (row.status === "cancelled" && row.leased) skipped.push({ ref, reason: stoppingReason(row) });
      else if (row.status !== "failed" && row.status !== "cancelled") skipped.push({ ref, reason: `it is ${row.status}` });
      else if (row.job_code === null) plain.push(ref);
      else coded.push(row);
    }
    // `log` is assigned first: MySQL evaluates SET left to right, and it quotes the old status and error.
    const update = `UPDATE ${db.quoted()}
        SET log = ${appendLog("CONCAT(?, status, IF(error IS NULL, '', CONCAT('; last error: ', error)), ')\\n')")},
            status = 'pending', attempts = 0, run_after = NOW(3), started_at = NULL, finished_at = NULL,
            locked_by = NULL, lock_token = NULL, lease_until = NULL, progress = NULL, result = NULL, error = NULL
      WHERE ref IN (?) AND status IN ('failed', 'cancelled')`;
    const note = `${logStamp()}retried by an operator: attempts reset to 0 (it was `;
    const retried: number[] = [];
    if (plain.length) {
      await execute(sql, update, [note, logMaxChars, plain]);
      retried.push(...plain);
    }
    for (const row of coded) {
      try {
        await execute(sql, update, [note, logMaxChars, [row.ref]]);
        retried.push(row.ref);
      } catch (error) {
        if ((error as { errno?: number }).errno !== 1062) throw error;
        // Only this statement was rolled back; the transaction goes on.
        const [holder] = await rows<{ ref: number }>(sql, `SELECT ref FROM ${db.quoted()} WHERE active_code = ?`, [row.job_code]);
        skipped.push({ ref: row.ref, reason: `job ${holder ? Number(holder.ref) : "?"} with the same code "${row.job_code}" is active` });
      }
    }
    retried.sort((a, b) => a - b);
    return { retried, skipped };
  });
}

/** `retry --failed [--type T…]`: every failed job (of those types), in chunks of refs. */
export async function retryFailedJobs(db: Database, options: { types?: string[] }, logMaxChars: number): Promise<RetryResult> {
  const total: RetryResult = { retried: [], skipped: [] };
  for (let after = 0; ;) {
    // Not beyond 2^53 − 1: such a ref cannot be carried exactly, and no claim would run it.
    const where = ["status = 'failed'", "ref > ?", "ref <= ?"];
    const params: unknown[] = [after, MAX_REF];
    if (options.types?.length) {
      where.push("type IN (?)");
      params.push(options.types);
    }
    const found = await rows<{ ref: number }>(db.pool, `SELECT ref FROM ${db.quoted()} WHERE ${where.join(" AND ")} ORDER BY ref LIMIT ?`, [
      ...params,
      RETRY_CHUNK,
    ]);
    if (found.length === 0) return total;
    const refs = found.map((row) => Number(row.ref));
    const { retried, skipped } = await retryJobs(db, refs, logMaxChars);
    total.retried.push(...retried);
    total.skipped.push(...skipped);
    after = refs[refs.length - 1]!;
    if (found.length < RETRY_CHUNK) return total;
  }
}

/**
 * ResourceSpace's Boost: priority 0 (or lower, if it already was) and due now, so that the
 * next claim anywhere takes it first. Only active jobs: a finished one would need `retry`.
 */
export async function boostJobs(db: Database, refs: number[]): Promise<BoostResult> {
  const unique = [...new Set(refs)];
  if (unique.length === 0) return { boosted: [], skipped: [] };
  return withTransaction(db, async (sql) => {
    const locked = await lockRows(sql, db, unique);
    const boosted: number[] = [];
    const skipped: Skipped[] = [];
    for (const ref of unique) {
      const row = locked.get(ref);
      if (!row) skipped.push({ ref, reason: "no such job" });
      else if (row.status !== "pending" && row.status !== "running") skipped.push({ ref, reason: `it is ${row.status} (retry it instead)` });
      else boosted.push(ref);
    }
    boosted.sort((a, b) => a - b);
    if (boosted.length) {
      await execute(
        sql,
        `UPDATE ${db.quoted()} SET priority = LEAST(priority, 0), run_after = LEAST(run_after, NOW(3))
          WHERE ref IN (?) AND status IN ('pending', 'running')`,
        [boosted],
      );
    }
    return { boosted, skipped };
  });
}

/**
 * pending → cancelled at once. running → cancelled, keeping locked_by and lock_token: the
 * process running it sees the change at its next heartbeat, stops the job (killing its
 * subprocesses) and records the end with recordCancelled, fenced by that token. A running job
 * whose lease has lapsed has no process left to do that (recovery would re-queue it): it is
 * cancelled at once too.
 */
export async function cancelJobs(db: Database, refs: number[], logMaxChars: number): Promise<CancelResult> {
  const unique = [...new Set(refs)];
  const result: CancelResult = { cancelled: [], stopping: [], alreadyCancelled: [], skipped: [] };
  if (unique.length === 0) return result;
  return withTransaction(db, async (sql) => {
    const locked = await lockRows(sql, db, unique);
    const pending: number[] = [];
    const lapsed: number[] = [];
    for (const ref of unique) {
      const row = locked.get(ref);
      if (!row) result.skipped.push({ ref, reason: "no such job" });
      else if (row.status === "pending") pending.push(ref);
      else if (row.status === "running") (row.leased ? result.stopping : lapsed).push(ref);
      else if (row.status === "cancelled") result.alreadyCancelled.push(ref);
      else result.skipped.push({ ref, reason: `it has already finished: ${row.status}` });
    }
    const atOnce = `UPDATE ${db.quoted()} SET log = ${appendLog()}, status = 'cancelled', finished_at = NOW(3), lease_until = NULL
      WHERE ref IN (?) AND status = ?`;
    if (pending.length) await execute(sql, atOnce, [logLine("cancelled by an operator before it ran"), logMaxChars, pending, "pending"]);
    if (lapsed.length) {
      await execute(sql, atOnce, [logLine("cancelled by an operator; the lease of its process had lapsed"), logMaxChars, lapsed, "running"]);
    }
    result.cancelled = [...pending, ...lapsed].sort((a, b) => a - b);
    if (result.stopping.length) {
      await execute(
        sql,
        `UPDATE ${db.quoted()} SET log = ${appendLog("CONCAT(?, COALESCE(locked_by, 'unknown'), '\\n')")}, status = 'cancelled'
          WHERE ref IN (?) AND status = 'running'`,
        [`${logStamp()}cancel requested by an operator; asking its process to stop it: `, logMaxChars, result.stopping],
      );
    }
    return result;
  });
}
