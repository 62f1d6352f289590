import type { ClaimedJob } from "../../queue/claimed-job.js";
import { recordCancelled, type Outcome } from "../../queue/finish.js";
import { releaseJobs } from "../../queue/leases.js";
import type { AttemptEnd } from "../attempt-end.js";
import { executeJob } from "./execute-job.js";
import { holdJobLock } from "./job-lock.js";
import type { OutcomeBounds } from "./outcome-bounds.js";
import type { RunnerDeps } from "../runner-deps.js";
import { logAttempt } from "./attempt-report.js";
import type { RunCounts } from "../../metrics/run-counts.js";
import type { ActiveJob } from "./active-job.js";

/**
 * What an attempt reports to: the run it belongs to (a QueueRunner), which owns these for
 * all its attempts. Not dependencies of the process, which are RunnerDeps.
 */
export interface AttemptRun {
  /** Writes outcomes, gathered into shared statements (the run's Finisher). */
  finisher: { add(outcome: Outcome, job: ClaimedJob, options: { now?: boolean }): Promise<void> };
  /** Writes the logs of running jobs while they run (the run's LogFlusher). */
  logFlusher: { settled(): Promise<void> };
  counts: RunCounts;
  /** The run's limited types: their outcomes are awaited (see below). */
  limits: Record<string, number>;
  bounds: OutcomeBounds;
}

/**
 * One attempt of a claimed job, from its job lock to its recorded end: runs it (executeJob),
 * tells the observer, counts and logs it, and hands the end to the database — the Finisher
 * for outcomes (batched), directly for a cancel or a release. Undefined when the job lock was
 * held by another process here, and the job was given back.
 */
export async function runAttempt(deps: RunnerDeps, run: AttemptRun, active: ActiveJob, eagerLock: boolean): Promise<AttemptEnd | undefined> {
  const { job } = active;
  const { observer } = deps;
  const { bounds } = run;
  const lock = await holdJobLock(deps.locks, deps.logger, job.ref, eagerLock);
  if (!lock) {
    deps.logger.warn(`job ${job.ref}: another process on this host holds its job lock; putting it back for 5 s`, { ref: job.ref });
    await releaseJobs(deps.db, [job], 5);
    return undefined;
  }
  observer?.jobStarted(job);
  let end: AttemptEnd;
  /** When the handler ended, for finished_at (its outcome may be written up to 20 ms later, with others). */
  let endedAt: number;
  try {
    end = await executeJob(job, deps, bounds, {
      log: active.log,
      stopSwitch: active.stopSwitch,
      onSpawn: (pid) => lock.addGroup(pid),
      progress: (percent) => {
        active.progress = percent;
        observer?.jobProgress(job, percent);
      },
    });
    endedAt = Date.now();
  } finally {
    await lock.release();
  }
  observer?.jobEnded(job, end);
  // The live log's last piece must reach the row before the outcome's, which follows it.
  await run.logFlusher.settled();
  logAttempt(deps.logger, run.counts, job, end);
  if (end.kind === "cancelled") {
    await recordCancelled(deps.db, job, end.log, bounds.logChars, active.startedAt);
  } else if (end.kind === "released") {
    await releaseJobs(deps.db, [job], 0, { text: end.log, maxChars: bounds.logChars });
  } else if (end.kind === "outcome") {
    // Written without gathering, and awaited, when the next claim depends on it: a retry puts
    // the job back to pending (a claim that ran first could find the queue empty and end the
    // run with it due), and a limited type's claim counts running rows (it could find the type
    // full). Other outcomes are not awaited: the slot is free now, and the Finisher gathers
    // them into shared writes.
    const now = end.outcome.kind === "retry" || job.type in run.limits;
    const written = run.finisher.add({ ...end.outcome, startedAt: active.startedAt, endedAt }, job, { now }).catch(() => undefined);
    if (now) await written;
  }
  return end;
}
