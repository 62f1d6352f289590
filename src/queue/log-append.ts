/**
 * Lines an operator's action appends to a job's log (repair.ts, job-actions.ts), in the
 * format of the runner's own lines (src/job/job-log.ts) and under the same cap.
 */

/** The start of a job log line. */
export function logStamp(): string {
  return `[${new Date().toISOString()}] info `;
}

export function logLine(message: string): string {
  return `${logStamp()}${message}\n`;
}

/**
 * `log` with the SQL expression `text` appended (after a newline if the log does not end with
 * one), keeping only its last logMaxChars characters (the final parameter), as the runner does.
 */
export function appendLog(text = "?"): string {
  return `RIGHT(CONCAT(COALESCE(log, ''), IF(log IS NULL OR log = '' OR RIGHT(log, 1) = '\\n', '', '\\n'), ${text}), ?)`;
}
