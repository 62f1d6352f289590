import { CommanderError } from "commander";
import { errorMessage, FatalError, JobFailedExit, UsageError, WaitTimedOutExit } from "../errors.js";
import { isConnectionError } from "../queue/db.js";

/**
 * The one place where an error becomes a line on stderr and an exit code:
 * 0 done, 1 fatal (or the job asked for failed), 2 usage, 124 a wait that timed out. Messages never include the
 * database password: config errors name keys, connection errors are rewritten here.
 */
export function exitCodeFor(error: unknown): { code: number; line?: string } {
  if (error instanceof CommanderError) {
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help") return { code: 0 };
    return { code: 2 }; // commander has printed its own message
  }
  if (error instanceof UsageError) return { code: 2, line: `offline-jobs: ${error.message} (see offline-jobs --help)` };
  if (error instanceof JobFailedExit) return { code: 1 };
  if (error instanceof WaitTimedOutExit) return { code: 124 };
  if (error instanceof FatalError) return { code: 1, line: `offline-jobs: ${error.message}` };
  if (isConnectionError(error) || (error as { errno?: number })?.errno === 1045 || (error as { errno?: number })?.errno === 1049) {
    return { code: 1, line: `offline-jobs: the database is unreachable or refused us: ${describeSqlError(error)}` };
  }
  if ((error as { sqlMessage?: string })?.sqlMessage) return { code: 1, line: `offline-jobs: database error: ${describeSqlError(error)}` };
  return { code: 1, line: `offline-jobs: ${errorMessage(error)}` };
}

/** What a connection error code means, for the one line a person reads. */
const CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: "nothing answers at that address and port (is the server running?)",
  ECONNRESET: "the server closed the connection (did it stop or restart?)",
  PROTOCOL_CONNECTION_LOST: "the server closed the connection (did it stop or restart?)",
  ETIMEDOUT: "no answer in time (a firewall, or a server that is down or frozen)",
  ENOTFOUND: "the host name does not resolve",
  EHOSTUNREACH: "the host is unreachable",
  EPIPE: "the connection broke while sending",
};

function describeSqlError(error: unknown): string {
  const e = error as { code?: string; sqlMessage?: string; message?: string };
  // mysql2's access-denied message names the user and host, never the password.
  if (e.sqlMessage) return e.sqlMessage;
  if (e.code && CONNECTION_CODES[e.code]) return `${CONNECTION_CODES[e.code]} [${e.code}]`;
  return e.code ?? errorMessage(error);
}

export function handleError(error: unknown): never {
  const { code, line } = exitCodeFor(error);
  if (line) process.stderr.write(`${line}\n`);
  process.exit(code);
}
