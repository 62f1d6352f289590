/**
 * The library: what an application written for Node uses instead of a raw INSERT, and what a
 * handler module named in the config's `handlers` imports.
 *
 *   import { enqueue, defineHandler } from "offline-jobs";
 */

export { defineHandler } from "./job/handler.js";
export type { Handler, HandlerDefaults, JobContext, JobLogger, JobResult, SubprocessResult } from "./job/handler.js";
export { PermanentError, TransientError } from "./errors.js";
export type { NewJob, Enqueued } from "./queue/enqueue.js";
export type { JobRow, JobStatus } from "./queue/admin.js";
export type { Config } from "./config/schema.js";
export { enqueue } from "./client/enqueue.js";
export type { EnqueueOptions } from "./client/enqueue.js";
export { submit, submitBatch } from "./client/submit.js";
export { InvalidJobError, JobEndedError, SubmitTimeoutError } from "./errors.js";
export type { SubmitOptions, BatchOutcome } from "./client/submit.js";
export type { JobEnd } from "./queue/wait.js";
