/**
 * Error classes that steer what happens next. The runner and the CLI's error handler look
 * only at the class, never at message text.
 */

/**
 * `instanceof` for a class a handler module throws: true for an object made by any copy of
 * the class. The command runs from one bundled file (scripts/bundle.mjs), while a handler module
 * named in the config imports the package's own dist/src; the two hold different copies of
 * these classes, and a plain instanceof would take a handler's PermanentError for an unknown
 * error. A subclass (`class Gone extends PermanentError`) is tested the ordinary way.
 */
function brandedInstanceOf(base: abstract new (...args: never[]) => unknown, brand: symbol) {
  return function (this: unknown, value: unknown): boolean {
    if (this !== base) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null && brand in value;
  };
}

const PERMANENT = Symbol.for("offline-jobs.PermanentError");
const TRANSIENT = Symbol.for("offline-jobs.TransientError");

/** The job can never succeed as asked (bad job_data, missing source, outside the roots): fail it now. */
export class PermanentError extends Error {
  override name = "PermanentError";
  readonly [PERMANENT] = true;
  static override [Symbol.hasInstance] = brandedInstanceOf(PermanentError, PERMANENT);
}

/** Worth another attempt later (timeout, killed subprocess, database hiccup): retry with backoff. */
export class TransientError extends Error {
  override name = "TransientError";
  readonly [TRANSIENT] = true;
  static override [Symbol.hasInstance] = brandedInstanceOf(TransientError, TRANSIENT);
}

/** The command line was wrong: exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * A new job would not run here (a field its column cannot hold, an unknown type or template,
 * job_data its type's schema refuses): enqueue() and submit() throw it before adding
 * anything; `add` turns it into exit code 2. `forceable`: `force` would add it anyway.
 */
export class InvalidJobError extends Error {
  override name = "InvalidJobError";
  constructor(
    message: string,
    readonly forceable: boolean,
  ) {
    super(message);
  }
}

/** The run cannot go on (bad config, database unreachable, stale schema): exit code 1. */
export class FatalError extends Error {
  override name = "FatalError";
}

/** A job the command waited for ended failed or cancelled: exit code 1, message already printed. */
export class JobFailedExit extends Error {
  override name = "JobFailedExit";
}

/** The jobs a command waited for had not ended by its --timeout (they stay queued): exit code 124, as timeout(1). */
export class WaitTimedOutExit extends Error {
  override name = "WaitTimedOutExit";
}

/** Errors a path can meet on its way, in words: none of them goes away by trying again. */
const PATH_ERRORS: Record<string, string> = {
  ENAMETOOLONG: "a name in it is too long (ENAMETOOLONG)",
  ELOOP: "too many levels of symbolic links (ELOOP)",
  ENOTDIR: "a part of it is not a folder (ENOTDIR)",
  EACCES: "permission denied (EACCES)",
  EPERM: "operation not permitted (EPERM)",
};

/** A file-system error code met on a path, in words; undefined for codes that may pass (EBUSY, EIO…). */
export function pathErrorInWords(code: string | undefined): string | undefined {
  return code !== undefined && Object.hasOwn(PATH_ERRORS, code) ? PATH_ERRORS[code] : undefined;
}

/**
 * An error's message, never blank: it ends lines such as "could not renew leases: …", which
 * must not stop at the colon. An error without one is named by its class (and code).
 */
export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  if (text.trim() !== "") return text;
  const code = (error as { code?: unknown } | null)?.code;
  return `${error instanceof Error ? error.name : "an error"} without a message${typeof code === "string" ? ` (${code})` : ""}`;
}

/**
 * No good answer from the database for most of a lease: no reply at all (a frozen server, or
 * a network partition that leaves TCP connections up), or only errors. A connection error for
 * the worker, which tries again after --sleep; for a cron run, exit code 1.
 */
export class DatabaseSilentError extends FatalError {
  override name = "DatabaseSilentError";
  constructor(seconds: number, lastError?: string) {
    const what = lastError
      ? `the database could not be reached for ${seconds} s (the last attempt: ${lastError})`
      : `the database has not answered for ${seconds} s (a frozen server or a network partition?)`;
    super(`${what}: giving up this run; the jobs it held run again once their leases expire`);
  }
}

/**
 * A delivery that trying again would not fix (a 4xx answer from the webhook, an SMTP 5xx
 * rejection): the notifier gives up on it at once instead of spending its retries.
 */
export class PermanentDeliveryError extends Error {
  override name = "PermanentDeliveryError";
}

/** A subprocess limit is set but prlimit (util-linux) is missing: nothing is started. */
export class MissingPrlimitError extends Error {
  override name = "MissingPrlimitError";
}

/** ffmpeg ran but wrote nothing: no frame or no audio where the job asked for it. */
export class NoOutputError extends PermanentError {
  override name = "NoOutputError";
}

/**
 * How a job a caller waited for ended (src/queue/wait.ts calls it JobEnd): defined here, on
 * the ground, because JobEndedError carries it. "gone": its row was deleted before it ended.
 */
export interface EndedJob {
  ref: number;
  status: "complete" | "failed" | "cancelled" | "gone";
  error: string | null;
  /** The result column, parsed when it is JSON (it carries the rendered notice). */
  result: unknown;
  /** host:pid of the process that ran it last (locked_by), if any did. */
  ranBy: string | null;
}

/** A submitted job ended failed or cancelled, or its row was deleted before it ended. */
export class JobEndedError extends Error {
  override name = "JobEndedError";
  constructor(readonly end: EndedJob) {
    const why = end.error ?? (end.status === "cancelled" ? "it was cancelled" : "no reason was recorded");
    super(`job ${end.ref} ${end.status === "gone" ? "was deleted before it ended" : end.status}: ${why}`);
  }
}

/** The wait ran out first; the jobs are fine and still queued (`refs`). */
export class SubmitTimeoutError extends Error {
  override name = "SubmitTimeoutError";
  constructor(
    readonly refs: number[],
    timeoutMs: number,
  ) {
    super(`${refs.length === 1 ? `job ${refs[0]} had` : `${refs.length} jobs had`} not ended after ${timeoutMs / 1000} s; left in the queue`);
  }
}
