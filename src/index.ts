/**
 * The library: what an application written for Node uses instead of a raw INSERT, and what a
 * handler module named in the config's `handlers` imports.
 *
 *   import { enqueue, defineHandler } from "offline-jobs";
 */
import { loadConfig, type LoadConfigOptions } from "./config/load-config.js";
import { openDatabase } from "./queue/db.js";
import { enqueueJobs, type Enqueued, type NewJob } from "./queue/enqueue.js";

export { defineHandler } from "./job/handler.js";
export type { Handler, HandlerDefaults, JobContext, JobLogger, JobResult, SubprocessResult } from "./job/handler.js";
export { PermanentError, TransientError } from "./errors.js";
export type { NewJob, Enqueued } from "./queue/enqueue.js";
export type { JobRow, JobStatus } from "./queue/admin.js";
export type { Config } from "./config/schema.js";
export { submit, submitBatch } from "./client/submit.js";
export { JobEndedError, SubmitTimeoutError } from "./errors.js";
export type { SubmitOptions, BatchOutcome } from "./client/submit.js";
export type { JobEnd } from "./queue/wait.js";

/**
 * Adds jobs to the queue (several in one transaction) and returns their refs. With `code`, an
 * active job with the same code is returned instead (`existing: true`). The config is read
 * as the command reads it (OFFLINE_JOBS_CONFIG, OFFLINE_JOBS_DATABASE_URL, ./config.json).
 */
export async function enqueue(jobs: NewJob | NewJob[], options: LoadConfigOptions = {}): Promise<Enqueued[]> {
  const config = loadConfig(options);
  const db = openDatabase(config.database.url, config.database.table, 1);
  try {
    return await enqueueJobs(db, Array.isArray(jobs) ? jobs : [jobs]);
  } finally {
    await db.close();
  }
}
