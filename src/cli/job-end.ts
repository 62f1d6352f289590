import type { Logger } from "../logger.js";
import type { JobEnd } from "../queue/wait.js";
import { noticeIn } from "./job-info.js";

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
