import type { Logger } from "../logger.js";
import type { ClaimedJob } from "../queue/claim.js";
import type { AttemptEnd } from "./execute-job.js";

export interface RunCounts {
  complete: number;
  failed: number;
  retried: number;
  cancelled: number;
  lost: number;
  /** Interrupted by a stop after the grace period and put back to pending. */
  released: number;
}

export function emptyCounts(): RunCounts {
  return { complete: 0, failed: 0, retried: 0, cancelled: 0, lost: 0, released: 0 };
}

/** One line per attempt in the process's log, and the run's counts. */
export function logAttempt(logger: Logger, counts: RunCounts, job: ClaimedJob, end: AttemptEnd): void {
  // --quiet: only the count. A line per job is built only to be written (a tenth of a no-op
  // job's path through the runner went on lines that --quiet then dropped).
  if (end.kind === "outcome" && end.outcome.kind === "complete" && !logger.enabled("info")) {
    counts.complete++;
    return;
  }
  const fields = { ref: job.ref, type: job.type, attempt: job.attempt, ms: end.durationMs };
  if (end.kind === "cancelled") {
    counts.cancelled++;
    logger.info(`job ${job.ref} ${job.type} cancelled`, { ...fields, status: "cancelled" });
  } else if (end.kind === "released") {
    counts.released++;
    logger.warn(`job ${job.ref} ${job.type} interrupted (${end.detail}): back to pending`, { ...fields, status: "pending" });
  } else if (end.kind === "lost") {
    counts.lost++;
    logger.warn(`job ${job.ref} ${job.type} abandoned: ${end.detail}`, { ...fields, status: "lost" });
  } else if (end.outcome.kind === "complete") {
    counts.complete++;
    logger.info(`job ${job.ref} ${job.type} complete (${end.durationMs} ms)`, { ...fields, status: "complete" });
  } else if (end.outcome.kind === "failed") {
    counts.failed++;
    logger.info(`job ${job.ref} ${job.type} failed: ${end.outcome.error}`, { ...fields, status: "failed", error: end.outcome.error });
  } else {
    counts.retried++;
    const { delaySeconds, error } = end.outcome;
    logger.info(`job ${job.ref} ${job.type} attempt ${job.attempt} failed, retry in ${delaySeconds} s: ${error}`, { ...fields, status: "pending", error });
  }
}
