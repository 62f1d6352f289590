import type { Logger } from "../logger.js";
import type { JobEnd } from "../queue/wait.js";
import { noticeIn } from "../client/job-info.js";

/**
 * One log line for a job that a command waited for: "job 12 complete" or "job 12 failed:
 * <error>", with the rendered notice (what the application would show its user) appended
 * when the job has one. Complete is info (silent under --quiet); anything else is an error.
 */
export function logJobEnd(logger: Logger, end: JobEnd): void {
  const notice = noticeIn(end.result) || undefined; // an empty notice is left out
  const fields = { ref: end.ref, status: end.status, ...(end.error ? { error: end.error } : {}), ...(notice ? { notice } : {}) };
  const what = end.status === "gone" ? "was deleted before it ended" : end.status;
  const line = `job ${end.ref} ${what}${end.status !== "complete" && end.status !== "gone" && end.error ? `: ${end.error}` : ""}${notice ? ` — notice: ${notice}` : ""}`;
  if (end.status === "complete") logger.info(line, fields);
  else logger.error(line, fields);
}

/**
 * The line `run --job` ends with when its job did not complete: what happened, and what to
 * do about it, whatever the row holds (its error may be empty). `attempt`: how the attempt
 * run here ended, when there was one.
 */
export function describeRunJobEnd(ref: number, status: string, error: string | null, attempt?: string): string {
  const show = `\`offline-jobs show ${ref}\` shows its log`;
  if (status === "not-run") return `job ${ref} was not run: ${error || "it is not runnable now"}`;
  if (status === "failed") return error ? `job ${ref} failed: ${error}` : `job ${ref} failed without an error message (${show})`;
  if (status === "cancelled") return `job ${ref} was cancelled while it ran; nothing more to run (\`offline-jobs retry ${ref}\` runs it again)`;
  if (status === "unknown") return `job ${ref} was deleted while it ran; nothing more to do`;
  if (status === "pending" && attempt === "outcome" && error)
    return `job ${ref} did not complete and will be retried (${error}); \`offline-jobs run --job ${ref}\` retries it now`;
  if (status === "pending")
    return `job ${ref} was interrupted before it ended and is pending again; the next run takes it, or \`offline-jobs run --job ${ref}\``;
  if (status === "running") return `job ${ref} now runs in another process (its lease here ran out before it ended); ${show}`;
  return `job ${ref} ended ${status}; ${show}`;
}
