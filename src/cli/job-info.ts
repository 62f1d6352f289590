import { parseResult, type JobRow } from "../queue/admin.js";

/** The rendered notice a finished job's result carries (docs/operations.md, "Enqueueing jobs"), if any: from the column's text… */
export function noticeOf(result: string | null): string | null {
  return noticeIn(parseResult(result));
}

/** …or from the result already parsed. */
export function noticeIn(result: unknown): string | null {
  const notice = (result as { notice?: unknown } | null)?.notice;
  return typeof notice === "string" ? notice : null;
}

/**
 * One line about where a job stands, as AtoM's jobInfo column: the notice of a complete job,
 * the error of a failed one (else its notice), for a running job who runs it, for a pending
 * job that failed before the error it is being retried after.
 */
export function jobInfo(job: Pick<JobRow, "status" | "error" | "result" | "attempts" | "locked_by" | "progress">): string {
  switch (job.status) {
    case "complete":
      return noticeOf(job.result) ?? "";
    case "failed":
    case "cancelled":
      return job.error ?? noticeOf(job.result) ?? "";
    case "running":
      return `attempt ${job.attempts} on ${job.locked_by ?? "?"}${job.progress !== null ? `, ${job.progress}%` : ""}`;
    case "pending":
      return job.attempts > 0 && job.error ? `attempt ${job.attempts} failed, to be retried: ${job.error}` : "";
  }
}
