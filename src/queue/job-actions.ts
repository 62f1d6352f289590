import { UsageError } from "../errors.js";
import { deleteWhere, INACTIVE } from "./cleanup.js";
import { execute, rows, withRetry, withTransaction, type Database } from "./db.js";
import { matchCondition, type JobScope } from "./job-query.js";
import { appendLog, logLine } from "./log-append.js";
import type { Skipped } from "./repair.js";

/**
 * The jobs page's own actions, beside the repairs it shares with the command line
 * (repair.ts): deleting jobs by ref, clearing a user's inactive jobs, and the line an action
 * leaves in each job's log.
 */

/** Refs handled per transaction: no statement holds more row locks than this. */
const CHUNK = 1000;

interface DeletableRow {
  ref: number;
  status: string;
  locked_by: string | null;
  /** 1 while a lease is still running (a process holds the row). */
  leased: number;
}

/**
 * Deletes the jobs of `refs` the scope may see that are not running: pending, complete,
 * failed, and cancelled once no process is stopping them. A ref outside the scope is "no
 * such job", as one that does not exist, so that the answer says nothing of another's jobs.
 * The rows are locked first (a claim's SKIP LOCKED passes over them), and the DELETE checks
 * the same condition again.
 */
export async function deleteJobs(db: Database, scope: JobScope, refs: number[]): Promise<{ deleted: number[]; skipped: Skipped[] }> {
  const unique = [...new Set(refs)];
  const deleted: number[] = [];
  const skipped: Skipped[] = [];
  const scoped = matchCondition(scope, {});
  for (let i = 0; i < unique.length; i += CHUNK) {
    const chunk = unique.slice(i, i + CHUNK);
    const valid = chunk.filter((ref) => Number.isSafeInteger(ref) && ref >= 1);
    for (const ref of chunk) if (!valid.includes(ref)) skipped.push({ ref, reason: "no such job" });
    if (valid.length === 0) continue;
    await withTransaction(db, async (sql) => {
      const found = await rows<DeletableRow>(
        sql,
        `SELECT ref, status, locked_by, (lease_until IS NOT NULL AND lease_until >= NOW(3)) AS leased
           FROM ${db.quoted()} WHERE ref IN (?) AND ${scoped.where} FOR UPDATE`,
        [valid, ...scoped.params],
      );
      const byRef = new Map(found.map((row) => [Number(row.ref), row]));
      const doomed: number[] = [];
      for (const ref of valid) {
        const row = byRef.get(ref);
        if (!row) skipped.push({ ref, reason: "no such job" });
        else if (row.status === "running") skipped.push({ ref, reason: "it is running (cancel it first)" });
        else if (row.status === "cancelled" && Number(row.leased)) {
          skipped.push({
            ref,
            reason: `it was cancelled while running and ${row.locked_by ?? "its process"} is still stopping it; try again in a few seconds`,
          });
        } else doomed.push(ref);
      }
      if (doomed.length === 0) return;
      const header = await execute(sql, `DELETE FROM ${db.quoted()} WHERE ref IN (?) AND (status = 'pending' OR ${INACTIVE})`, [doomed]);
      // The rows were locked: nothing can have changed them since the SELECT.
      if (header.affectedRows !== doomed.length) throw new Error(`deleted ${header.affectedRows} of ${doomed.length} locked jobs`);
      deleted.push(...doomed);
    });
  }
  deleted.sort((a, b) => a - b);
  return { deleted, skipped };
}

/**
 * AtoM's "clear inactive jobs": deletes the finished jobs (complete, failed, cancelled and no
 * longer stopping) of `user`, and with includeCommandLine also those of the command line's
 * users (`cli:…`). Users compare byte for byte; each set is its own range of the user index.
 */
export async function clearInactiveFor(db: Database, options: { user: string; includeCommandLine: boolean }): Promise<number> {
  if (typeof options.user !== "string" || options.user === "") throw new UsageError("clear needs the user whose jobs it clears");
  let deleted = await deleteWhere(db, `${INACTIVE} AND user = ? AND CAST(user AS BINARY) = CAST(? AS BINARY)`, [options.user, options.user]);
  if (options.includeCommandLine) {
    // LIKE under the table's collation finds "CLI:x" too (and uses the index); the binary one keeps only "cli:".
    deleted += await deleteWhere(db, `${INACTIVE} AND user LIKE 'cli:%' AND CAST(user AS BINARY) LIKE CAST('cli:%' AS BINARY)`, []);
  }
  return deleted;
}

/** The longest line noteAction writes; the rest is cut. */
const MAX_NOTE = 500;

/**
 * Appends one line to each job's log ("cancelled by alice (web)"), stamped like the runner's
 * lines and kept within logMaxChars as they are. Control characters (newlines included)
 * become spaces: a user name cannot forge a second log line.
 */
export async function noteAction(db: Database, refs: number[], line: string, logMaxChars: number): Promise<void> {
  if (!Number.isInteger(logMaxChars) || logMaxChars < 1) throw new UsageError("logMaxChars must be a whole number of 1 or more");
  const clean = Array.from(String(line).replace(/[\p{Cc}\u2028\u2029]/gu, " "))
    .slice(0, MAX_NOTE)
    .join("");
  const unique = [...new Set(refs)].filter((ref) => Number.isSafeInteger(ref) && ref >= 1);
  for (let i = 0; i < unique.length; i += CHUNK) {
    const chunk = unique.slice(i, i + CHUNK);
    await withRetry(() => execute(db.pool, `UPDATE ${db.quoted()} SET log = ${appendLog()} WHERE ref IN (?)`, [logLine(clean), logMaxChars, chunk]));
  }
}
