import type { Level, Logger } from "../../logger.js";
import type { ClaimedJob } from "../../queue/claimed-job.js";
import type { RunCounts } from "../../metrics/run-counts.js";
import type { AttemptEnd } from "../attempt-end.js";

/** How each end of an attempt is counted, and the level of its line in the process's log. */
const ENDS = {
  cancelled: { count: "cancelled", level: "info" },
  released: { count: "released", level: "warn" },
  lost: { count: "lost", level: "warn" },
  complete: { count: "complete", level: "info" },
  failed: { count: "failed", level: "info" },
  retry: { count: "retried", level: "info" },
} as const satisfies Record<string, { count: keyof RunCounts; level: Level }>;

/** One line per attempt in the process's log, and the run's counts. */
export function logAttempt(logger: Logger, counts: RunCounts, job: ClaimedJob, end: AttemptEnd): void {
  const { count, level } = ENDS[end.kind === "outcome" ? end.outcome.kind : end.kind];
  counts[count]++;
  // A line is built only to be written: building the lines that --quiet then dropped was a
  // tenth of a no-op job's path through the runner.
  if (!logger.enabled(level)) return;
  const line = (message: string, more: Record<string, unknown>) =>
    logger[level](message, { ref: job.ref, type: job.type, attempt: job.attempt, ms: end.durationMs, ...more });
  if (end.kind === "cancelled") {
    line(`job ${job.ref} ${job.type} cancelled`, { status: "cancelled" });
  } else if (end.kind === "released") {
    line(`job ${job.ref} ${job.type} interrupted (${end.detail}): back to pending`, { status: "pending" });
  } else if (end.kind === "lost") {
    line(`job ${job.ref} ${job.type} abandoned: ${end.detail}`, { status: "lost" });
  } else if (end.outcome.kind === "complete") {
    line(`job ${job.ref} ${job.type} complete (${end.durationMs} ms)`, { status: "complete" });
  } else if (end.outcome.kind === "failed") {
    line(`job ${job.ref} ${job.type} failed: ${end.outcome.error}`, { status: "failed", error: end.outcome.error });
  } else {
    const { delaySeconds, error } = end.outcome;
    line(`job ${job.ref} ${job.type} attempt ${job.attempt} failed, retry in ${delaySeconds} s: ${error}`, { status: "pending", error });
  }
}
