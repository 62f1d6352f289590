import { execute, withRetry, type Database } from "./db.js";
import { countStart, fence, type StartedHandle } from "./fenced-update.js";

/**
 * Records that jobs claimed ahead of the slots have started: their attempts are counted and
 * started_at is set to when each started, in one statement for all of them (src/runner/loop/start-marks.ts says
 * when). Fenced like every write of an attempt; a row whose start is already recorded (by
 * its outcome's write, which got there first) is left alone.
 */
export async function recordStarts(db: Database, jobs: StartedHandle[]): Promise<void> {
  if (jobs.length === 0) return;
  const [where, whereP] = fence(jobs);
  await withRetry(() => {
    const [count, countP] = countStart(jobs);
    return execute(db.pool, `UPDATE ${db.quoted()} SET ${count} WHERE ${where} AND status = 'running' AND started_at IS NULL`, [...countP, ...whereP]);
  });
}
