import type { NewJob } from "./enqueue.js";

/**
 * What the job table's columns hold (src/queue/migrations.ts), as a new job's fields must fit
 * them: checked before the INSERT, so that `add` and enqueue() refuse a job with one sentence
 * naming the field instead of a server error (or, outside strict mode, a silently cut value).
 * Lengths are in characters, as VARCHAR counts them.
 */
export const COLUMN_LIMITS = {
  type: 64,
  user: 191,
  code: 191,
  /** SMALLINT. */
  priority: { min: -32_768, max: 32_767 },
  /** SMALLINT UNSIGNED; more than 100 is never meant (add's own bound). */
  maxAttempts: { min: 1, max: 100 },
  /** TEXT holds 65,535 bytes: 16,383 characters of up to 4 bytes each always fit. */
  noticeText: 16_383,
} as const;

/** The first field of `job` its column cannot hold, as a sentence; undefined when all fit. */
export function columnProblem(job: NewJob): string | undefined {
  const length = (text: string) => [...text].length;
  if (typeof job.type !== "string" || job.type === "") return "type must be a non-empty string";
  if (length(job.type) > COLUMN_LIMITS.type) return `type is longer than ${COLUMN_LIMITS.type} characters`;
  if (job.user != null && length(job.user) > COLUMN_LIMITS.user) return `user is longer than ${COLUMN_LIMITS.user} characters`;
  if (job.code != null && (job.code === "" || length(job.code) > COLUMN_LIMITS.code)) return `code must be 1 to ${COLUMN_LIMITS.code} characters`;
  const { priority, maxAttempts } = COLUMN_LIMITS;
  if (job.priority != null && !(Number.isInteger(job.priority) && job.priority >= priority.min && job.priority <= priority.max)) {
    return `priority must be a whole number from ${priority.min} to ${priority.max}`;
  }
  if (job.maxAttempts != null && !(Number.isInteger(job.maxAttempts) && job.maxAttempts >= maxAttempts.min && job.maxAttempts <= maxAttempts.max)) {
    return `maxAttempts must be a whole number from ${maxAttempts.min} to ${maxAttempts.max}`;
  }
  for (const [field, text] of [
    ["successText", job.successText],
    ["failureText", job.failureText],
  ] as const) {
    if (text != null && length(text) > COLUMN_LIMITS.noticeText) return `${field} is longer than ${COLUMN_LIMITS.noticeText} characters`;
  }
  if (job.runAt != null && !(job.runAt instanceof Date && Number.isFinite(job.runAt.getTime()))) return "runAt must be a valid date";
  return undefined;
}
