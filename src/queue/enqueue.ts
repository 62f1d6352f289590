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
      return { ref: Number(header.insertId), existing: false };
    } catch (error) {
      if ((error as { errno?: number }).errno !== DUPLICATE_KEY || !job.code) throw error;
      const [active] = await rows<{ ref: number }>(sql, `SELECT ref FROM ${db.quoted()} WHERE active_code = ?`, [job.code]);
      if (active) return { ref: Number(active.ref), existing: true };
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
