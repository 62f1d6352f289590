import { loadConfig } from "../config/load-config.js";
import { JobEndedError, SubmitTimeoutError } from "../errors.js";
import type { NewJob } from "../queue/enqueue.js";
import { waitForJobs, type JobEnd } from "../queue/wait.js";
import { addJobs, checkNewJobs, withLibraryDatabase, type EnqueueOptions } from "./enqueue.js";

/**
 * Submit and wait, as Islandora's islandora_job_submit and islandora_job_submit_batch do: the
 * application adds jobs and learns how they ended in one call, whoever runs them (cron, a
 * worker, another host). The same enqueue and the same wait as `add --wait`.
 */

export interface SubmitOptions extends EnqueueOptions {
  /** Give up waiting after this long (the jobs stay queued). Undefined: wait until they end. */
  timeoutMs?: number;
}

export interface BatchOutcome {
  /** True when every job completed. */
  allComplete: boolean;
  /** How each job that ended did, in the order of the jobs given. */
  ends: JobEnd[];
  /** Jobs still pending or running when the timeout ran out. */
  unfinished: number[];
}

/**
 * Adds one job and resolves to its result (the result column, parsed: a handler's return
 * value and notice) once it has completed. Rejects with JobEndedError when it failed, was
 * cancelled or deleted, with SubmitTimeoutError when `timeoutMs` ran out first, and with
 * InvalidJobError, before adding anything, when the job would not run here (as `add` refuses it).
 */
export async function submit(job: NewJob, options: SubmitOptions = {}): Promise<unknown> {
  const outcome = await submitBatch([job], options);
  const [end] = outcome.ends;
  if (!end) throw new SubmitTimeoutError(outcome.unfinished, options.timeoutMs ?? 0);
  if (end.status !== "complete") throw new JobEndedError(end);
  return end.result;
}

/**
 * Adds jobs (in one transaction: all or none) and waits until every one has ended, or until
 * `timeoutMs`. Resolves with whether all completed and how each ended; it never rejects for a
 * job's failure, only when the jobs could not be added or the database could not be asked.
 */
export async function submitBatch(jobs: NewJob[], options: SubmitOptions = {}): Promise<BatchOutcome> {
  const config = loadConfig(options);
  await checkNewJobs(jobs, config, options.force === true);
  return withLibraryDatabase(config, async (db) => {
    const refs = (await addJobs(db, config, jobs)).map((added) => added.ref);
    const { ended, unfinished } = await waitForJobs(db, refs, { timeoutMs: options.timeoutMs });
    const byRef = new Map(ended.map((end) => [end.ref, end]));
    const ends = refs.flatMap((ref) => byRef.get(ref) ?? []);
    return { allComplete: unfinished.length === 0 && ends.every((end) => end.status === "complete"), ends, unfinished };
  });
}
