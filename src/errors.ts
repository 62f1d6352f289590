/**
 * Error classes that steer what happens next. The runner and the CLI's error handler look
 * only at the class, never at message text.
 */

/** The job can never succeed as asked (bad job_data, missing source, outside the roots): fail it now. */
export class PermanentError extends Error {
  override name = "PermanentError";
}

/** Worth another attempt later (timeout, killed subprocess, database hiccup): retry with backoff. */
export class TransientError extends Error {
  override name = "TransientError";
}

/** The command line was wrong: exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
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
