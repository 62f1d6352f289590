import type { EndedJob } from "../errors.js";
import { isConnectionError, rows, sleep, type Database } from "./db.js";
import { parseResult, type JobStatus } from "./admin.js";

/** How a job a caller waited for ended. "gone": its row was deleted (clear, purge) before it ended. */
export type JobEnd = EndedJob;

/** A poll reads at most this many refs per statement, so a huge batch never makes one giant IN list. */
const REFS_PER_QUERY = 5000;

/**
 * The current status of many jobs in one statement per REFS_PER_QUERY refs (a primary-key
 * lookup), with error and result only for those that have ended.
 */
export async function readJobEnds(db: Database, refs: number[]): Promise<{ ended: JobEnd[]; missing: number[] }> {
  const ended: JobEnd[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < refs.length; i += REFS_PER_QUERY) {
    const chunk = refs.slice(i, i + REFS_PER_QUERY);
    const found = await rows<{ ref: number; status: JobStatus; error: string | null; result: string | null; locked_by: string | null }>(
      db.pool,
      `SELECT ref, status, locked_by,
              IF(status IN ('complete', 'failed', 'cancelled'), error, NULL) AS error,
              IF(status IN ('complete', 'failed', 'cancelled'), result, NULL) AS result
         FROM ${db.quoted()} WHERE ref IN (?)`,
      [chunk],
    );
    for (const row of found) {
      const ref = Number(row.ref);
      seen.add(ref);
      if (row.status === "complete" || row.status === "failed" || row.status === "cancelled") {
        ended.push({ ref, status: row.status, error: row.error, result: parseResult(row.result), ranBy: row.locked_by });
      }
    }
  }
  return { ended, missing: refs.filter((ref) => !seen.has(ref)) };
}

export interface WaitOptions {
  /** Give up after this long; the jobs stay queued. Undefined: wait for ever. */
  timeoutMs?: number;
  /** Called once per job as soon as it is seen ended, in the order seen. */
  onEnd?: (end: JobEnd) => void;
  /** A poll that failed for a connection problem; the wait goes on. */
  onPollError?: (error: unknown) => void;
  /** First pause between polls; it grows to `maxPollMs` while nothing ends. */
  pollMs?: number;
  maxPollMs?: number;
}

export interface WaitResult {
  ended: JobEnd[];
  /** Refs still pending or running when the time ran out. */
  unfinished: number[];
}

/**
 * Waits until every job in `refs` has ended (complete, failed, cancelled, or deleted), whoever
 * runs it: a cron run, a worker, another host. There is no notification channel in MySQL, so
 * this polls, but cheaply: one primary-key query for all refs still open, and a pause that
 * starts short (a quick job is reported at once) and backs off to `maxPollMs` while nothing
 * changes, so a long wait costs one small query every couple of seconds. A dropped connection
 * is not fatal: the pool reconnects and the next poll tries again until the deadline.
 */
export async function waitForJobs(db: Database, refs: number[], options: WaitOptions = {}): Promise<WaitResult> {
  const firstPause = options.pollMs ?? 100;
  const maxPause = options.maxPollMs ?? 2000;
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  let open = [...new Set(refs)];
  const ended: JobEnd[] = [];
  let pause = firstPause;
  for (;;) {
    let changed = false;
    try {
      const poll = await readJobEnds(db, open);
      const gone: JobEnd[] = poll.missing.map((ref) => ({ ref, status: "gone", error: "the job was deleted before it ended", result: null, ranBy: null }));
      for (const end of [...poll.ended, ...gone]) {
        ended.push(end);
        options.onEnd?.(end);
      }
      const closed = new Set([...poll.ended, ...gone].map((end) => end.ref));
      changed = closed.size > 0;
      open = open.filter((ref) => !closed.has(ref));
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      options.onPollError?.(error);
    }
    if (open.length === 0) return { ended, unfinished: [] };
    const left = deadline - Date.now();
    if (left <= 0) return { ended, unfinished: open };
    pause = changed ? firstPause : Math.min(maxPause, pause * 1.5);
    await sleep(Math.min(pause, left));
  }
}
