import { parseResult, type ExportedJob, type JobRow } from "../queue/admin.js";

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

/** AtoM's jobs export columns, in its order, then our ref: `export --csv` and the jobs page's CSV. */
export const EXPORT_HEADER = ["startDate", "endDate", "jobName", "jobStatus", "jobInfo", "jobUser", "ref"];

/** One job's cells under EXPORT_HEADER; `text` may rewrite the row's own text (the terminal escapes it). */
export function exportCells(job: ExportedJob, text: (value: string | null) => string | null = (value) => value): Array<string | number | null> {
  return [job.created_at, job.finished_at, text(job.type), job.status, text(jobInfo(job)), text(job.user), job.ref];
}
