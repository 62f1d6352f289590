import { execute, withRetry, type Database } from "./db.js";
import { COUNT_START, fence, type JobHandle } from "./fenced-update.js";

/**
 * Records that jobs claimed ahead of the slots have started: their attempts are counted and
 * started_at is set, in one statement for all of them (src/runner/loop/start-marks.ts says
 * when). Fenced like every write of an attempt; a row whose start is already recorded (by
 * its outcome's write, which got there first) is left alone.
 */
export async function recordStarts(db: Database, jobs: JobHandle[]): Promise<void> {
  if (jobs.length === 0) return;
  const [where, whereP] = fence(jobs);
  await withRetry(() => execute(db.pool, `UPDATE ${db.quoted()} SET ${COUNT_START} WHERE ${where} AND status = 'running' AND started_at IS NULL`, whereP));
}
