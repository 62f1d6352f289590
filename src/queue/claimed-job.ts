import { randomUUID } from "node:crypto";

/** A job as a claim hands it to the runner. */
export interface ClaimedJob {
  ref: number;
  type: string;
  jobData: string | null;
  user: string | null;
  priority: number;
  /** This attempt's number (the row's attempts once this one is counted). */
  attempt: number;
  /**
   * Whether the claim counted this attempt in the row (a claim for free slots, whose jobs start
   * at once). A job claimed ahead of the slots is not counted until it starts: its start is
   * recorded then (recordStarts, or its outcome's write), so that a claimer killed before
   * starting it leaves it uncounted (src/runner/loop/start-marks.ts).
   */
  counted: boolean;
  maxAttempts: number | null;
  /** The claim's fencing token: every later write about this job must quote it. */
  token: string;
  successText: string | null;
  failureText: string | null;
}

/**
 * The largest ref a claim hands to the runner: 2^53 − 1, the last integer a JS number holds
 * exactly. AUTO_INCREMENT gets past it only by an explicit INSERT (one is enough: the counter
 * stays above it), and a rounded ref would make every later write land on another row.
 */
export const MAX_REF = Number.MAX_SAFE_INTEGER;
/** attempts is SMALLINT UNSIGNED: a row already at this count cannot have an attempt counted. */
export const MAX_ATTEMPTS_COUNT = 65_535;

/** Why a claim fails a row instead of running it, or undefined when it can run (see REFUSAL_SQL). */
export function refusalOf(row: { ref: number | string; attempts: number }): string | undefined {
  if (!Number.isSafeInteger(Number(row.ref)) || Number(row.ref) > MAX_REF) return refRefusal(String(row.ref));
  if (row.attempts >= MAX_ATTEMPTS_COUNT) return ATTEMPTS_REFUSAL;
  return undefined;
}

/** The refusal of a ref, around the ref itself. No quote characters: both are spliced into SQL as literals. */
const REF_REFUSAL = ["its ref ", ` is above ${MAX_REF} (2^53 - 1), the largest ref offline-jobs carries exactly, so it was not run`] as const;
const refRefusal = (ref: string) => `${REF_REFUSAL[0]}${ref}${REF_REFUSAL[1]}`;
const ATTEMPTS_REFUSAL = `its attempts count is ${MAX_ATTEMPTS_COUNT}, the most the column holds, so no further attempt can be counted and it was not run`;

/**
 * The same test in SQL, over the row's columns: 0 when the row can run, else the reason's
 * number for refusalErrorSql. Written with no parameters: it is spliced into the claims.
 */
export const REFUSAL_SQL = `CASE WHEN ref > ${MAX_REF} THEN 1 WHEN attempts >= ${MAX_ATTEMPTS_COUNT} THEN 2 ELSE 0 END`;

/** The error a refused row gets, from REFUSAL_SQL's number (`reason`) and the row's columns (`alias`). */
export function refusalErrorSql(reason: string, alias: string, otherwise: string): string {
  return `CASE ${reason} WHEN 1 THEN ${refRefusalSql(`${alias}.ref`)} WHEN 2 THEN '${ATTEMPTS_REFUSAL}' ELSE ${otherwise} END`;
}

/** refusalOf's sentence for a ref beyond MAX_REF, in SQL around the column `ref`. */
export function refRefusalSql(ref: string): string {
  return `CONCAT('${REF_REFUSAL[0]}', ${ref}, '${REF_REFUSAL[1]}')`;
}

/** The columns a claim reads of each job it takes. */
export const CLAIM_COLUMNS = "ref, type, job_data, user, priority, attempts, max_attempts, success_text, failure_text";

/** A claimed row as the server returns it. */
export interface ClaimRow {
  /** A string when it is beyond 2^53 (mysql2's supportBigNumbers), so that it arrives unrounded. */
  ref: number | string;
  type: string;
  job_data: string | null;
  user: string | null;
  priority: number;
  attempts: number;
  max_attempts: number | null;
  success_text: string | null;
  failure_text: string | null;
}

/**
 * A claim's fencing token: 32 hex digits, 122 of their bits random (a v4 UUID without its
 * dashes). randomUUID draws from a buffer of random bytes it refills in bulk; randomBytes(16)
 * asked the system for each token, about 6 µs a claim against under 1 µs on the bench machine.
 */
export function newToken(): string {
  return randomUUID().replaceAll("-", "");
}

export function toClaimedJob(row: ClaimRow, token: string, attempt: number, counted: boolean): ClaimedJob {
  // The claims fail such rows instead (refusalOf): never let a rounded ref reach the runner.
  const ref = Number(row.ref);
  if (!Number.isSafeInteger(ref)) throw new Error(`a claim returned job ref ${String(row.ref)}, which a JS number cannot carry exactly`);
  return {
    ref,
    type: row.type,
    jobData: row.job_data,
    user: row.user,
    priority: row.priority,
    attempt,
    counted,
    maxAttempts: row.max_attempts,
    token,
    successText: row.success_text,
    failureText: row.failure_text,
  };
}
