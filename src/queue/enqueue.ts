import { FatalError } from "../errors.js";
import { MAX_REF } from "./claimed-job.js";
import { execute, rows, withTransaction, type Database, type Sql } from "./db.js";
import { instantSql } from "./instant.js";

export interface NewJob {
  type: string;
  data?: unknown;
  user?: string | null;
  /** Lower runs first: 0 immediate, 1 user-facing, 2 system (the default). */
  priority?: number;
  /** Not before this instant. */
  runAt?: Date | null;
  /** De-duplication key: at most one pending or running job per code. */
  code?: string | null;
  maxAttempts?: number | null;
  successText?: string | null;
  failureText?: string | null;
}

export interface Enqueued {
  ref: number;
  /** True when `code` matched an active job, whose ref this is; nothing was inserted. */
  existing: boolean;
}

const DUPLICATE_KEY = 1062;

/**
 * A ref as the server sent it (a string beyond 2^53, mysql2's supportBigNumbers), as a number,
 * or undefined when a number cannot hold it exactly: callers must never hand out a rounded ref.
 */
function exactRef(value: unknown): number | undefined {
  const ref = Number(value);
  return Number.isSafeInteger(ref) && ref <= MAX_REF ? ref : undefined;
}

/** What an operator does about a ref beyond MAX_REF, for the errors below. */
const resetCounter = (db: Database) =>
  `delete the rows whose ref is above ${MAX_REF} and reset the counter (ALTER TABLE ${db.table} AUTO_INCREMENT = 1 moves it to just past the largest ref left)`;

async function insertOne(db: Database, sql: Sql, job: NewJob): Promise<Enqueued> {
  // A job with the same code may finish between our failed INSERT and the SELECT that
  // looks it up; then the INSERT is simply tried again.
  const runAfter = instantSql(job.runAt);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const header = await execute(
        sql,
        `INSERT INTO ${db.quoted()}
           (type, job_data, user, priority, run_after, job_code, max_attempts, success_text, failure_text)
         VALUES (?, ?, ?, ?, ${runAfter.sql}, ?, ?, ?, ?)`,
        [
          job.type,
          JSON.stringify(job.data ?? {}),
          job.user ?? null,
          job.priority ?? 2,
          ...runAfter.params,
          job.code ?? null,
          job.maxAttempts ?? null,
          job.successText ?? null,
          job.failureText ?? null,
        ],
      );
      const ref = exactRef(header.insertId);
      if (ref === undefined) {
        // Outside a transaction the row is there: take it out again, by its exact ref.
        if (sql === db.pool) await execute(sql, `DELETE FROM ${db.quoted()} WHERE ref = ?`, [header.insertId]);
        throw new FatalError(
          `nothing was added: the job table's AUTO_INCREMENT gave ref ${String(header.insertId)}, above ${MAX_REF} (2^53 - 1), the largest ref offline-jobs carries exactly; ${resetCounter(db)}`,
        );
      }
      return { ref, existing: false };
    } catch (error) {
      if ((error as { errno?: number }).errno !== DUPLICATE_KEY || !job.code) throw error;
      const [active] = await rows<{ ref: number }>(sql, `SELECT ref FROM ${db.quoted()} WHERE active_code = ?`, [job.code]);
      if (active) {
        const ref = exactRef(active.ref);
        if (ref === undefined) {
          throw new FatalError(
            `the active job with code ${job.code} has ref ${String(active.ref)}, above ${MAX_REF} (2^53 - 1), the largest ref offline-jobs carries exactly; ${resetCounter(db)}`,
          );
        }
        return { ref, existing: true };
      }
    }
  }
  throw new Error(`could not add a job with code ${job.code}: its active twin kept changing`);
}

/** Adds jobs; several are added in one transaction (all or none). */
export async function enqueueJobs(db: Database, jobs: NewJob[]): Promise<Enqueued[]> {
  if (jobs.length === 1) return [await insertOne(db, db.pool, jobs[0]!)];
  return withTransaction(db, async (sql) => {
    const added: Enqueued[] = [];
    for (const job of jobs) added.push(await insertOne(db, sql, job));
    return added;
  });
}
