import { refRefusalSql } from "./claimed-job.js";
import { execute, rows, withRetry, withTransaction, type Database } from "./db.js";
import { caseByRef, fence, KEPT_LOG, UNCOUNT_START, type JobHandle } from "./fenced-update.js";

/*
 * A running job's lease: renewed by the process that holds it, and when it lapses (the process
 * died, its host vanished) recovered by whichever run comes next; re-queueing by hand or by a
 * stop (docs/architecture.md, "Leases, recovery and fencing").
 */

export interface LostJob {
  ref: number;
  /** "cancelled" when an operator cancelled it; otherwise why it is no longer ours. */
  reason: "cancelled" | "lost";
  detail: string;
}

/**
 * Renews the leases of this process's running jobs and stores their progress, in one
 * statement. Jobs that are no longer running under our token (cancelled, or recovered
 * after our lease expired) are returned so that the runner can stop them.
 */
export async function renewLeases(db: Database, jobs: Array<JobHandle & { progress: number | null }>, leaseSeconds: number): Promise<LostJob[]> {
  if (jobs.length === 0) return [];
  const [progress, progressP] = caseByRef(
    jobs.filter((j) => j.progress !== null).map((j) => [j.ref, "?", [j.progress]]),
    "progress",
  );
  const [where, whereP] = fence(jobs);
  const header = await withRetry(() =>
    execute(
      db.pool,
      `UPDATE ${db.quoted()} SET lease_until = NOW(3) + INTERVAL ? SECOND, progress = ${progress}
        WHERE ${where} AND status = 'running'`,
      [leaseSeconds, ...progressP, ...whereP],
    ),
  );
  if (header.affectedRows === jobs.length) return [];
  const current = await rows<{ ref: number; status: string; lock_token: string | null; locked_by: string | null }>(
    db.pool,
    `SELECT ref, status, lock_token, locked_by FROM ${db.quoted()} WHERE ref IN (?)`,
    [jobs.map((j) => j.ref)],
  );
  const byRef = new Map(current.map((row) => [Number(row.ref), row]));
  const lost: LostJob[] = [];
  for (const job of jobs) {
    const row = byRef.get(job.ref);
    if (row && row.status === "running" && row.lock_token === job.token) continue;
    if (!row) lost.push({ ref: job.ref, reason: "lost", detail: "the job row was deleted" });
    else if (row.status === "cancelled") lost.push({ ref: job.ref, reason: "cancelled", detail: "cancelled by an operator" });
    else if (row.lock_token !== job.token)
      lost.push({ ref: job.ref, reason: "lost", detail: `lease expired; the job is now held by ${row.locked_by ?? "nobody"}` });
    else lost.push({ ref: job.ref, reason: "lost", detail: `the job is now ${row.status}` });
  }
  return lost;
}

/**
 * Claimed but never started (stop, --limit, --max-time, its job lock held here by another
 * process), or interrupted by a stop after its grace period: back to pending, the attempt not
 * counted, due again after `delaySeconds`; `log` is appended to the job's log.
 */
export async function releaseJobs(db: Database, jobs: JobHandle[], delaySeconds = 0, log?: { text: string; maxChars: number }): Promise<number> {
  if (jobs.length === 0) return 0;
  const [where, whereP] = fence(jobs);
  const header = await withRetry(() =>
    execute(
      db.pool,
      `UPDATE ${db.quoted()}
          SET status = 'pending', ${UNCOUNT_START}, lease_until = NULL,
              run_after = NOW(3) + INTERVAL ? SECOND${log ? `, log = RIGHT(CONCAT(${KEPT_LOG}, ?), ?)` : ""}
        WHERE ${where} AND status = 'running'`,
      [delaySeconds, ...(log ? [log.maxChars, log.text, log.maxChars] : []), ...whereP],
    ),
  );
  return header.affectedRows;
}

export interface RecoveryPolicy {
  /** The effective attempt limit of a type when the row's max_attempts is NULL. */
  maxAttempts(type: string): number;
  onLost(type: string): "retry" | "fail";
  /** The notice of a job failed here (its failure_text rendered), stored in its result. */
  failureNotice?(job: { ref: number; type: string; user: string | null; failureText: string | null; error: string }): string;
  /** A lease further ahead than this no runner granted: recovered as lost. Default 10 × the largest leaseSeconds. */
  maxLeaseSeconds?: number;
}

/** A job failed by recovery, with what its notice needs. */
export interface LostJobFailure {
  ref: number;
  type: string;
  user: string | null;
  notice: string | null;
}

export const LOST_ERROR = "worker lost: lease expired";

/**
 * Recovers running jobs whose lease expired (their process died or their host vanished):
 * back to pending while attempts remain and the type allows re-running, else failed with
 * "worker lost: lease expired". A job whose start was never recorded (started_at NULL: claimed
 * ahead and not started, see src/runner/loop/start-marks.ts) never ran, so its attempt was
 * never counted: it goes back to pending whatever its attempts and its type's onLost say
 * (`unstarted` names those). Called by every run, so whichever host runs next cleans up.
 * A running row with no lease, or one further ahead than any runner grants, counts as expired:
 * no process holds it, and it would otherwise keep its job_code for ever. A row whose ref is
 * beyond 2^53 − 1 is failed, never re-queued (no claim would take it); `refused` names those,
 * as the server wrote them.
 */
export async function recoverExpiredJobs(
  db: Database,
  policy: RecoveryPolicy,
  limit = 500,
): Promise<{ requeued: number[]; failed: LostJobFailure[]; refused?: string[]; unstarted?: number[] }> {
  return withTransaction(db, async (sql) => {
    const expired = await rows<{
      ref: number | string;
      type: string;
      user: string | null;
      failure_text: string | null;
      attempts: number;
      max_attempts: number | null;
      unstarted: number;
    }>(
      sql,
      `SELECT ref, type, user, failure_text, attempts, max_attempts, started_at IS NULL AS unstarted FROM ${db.quoted()}
        WHERE status = 'running' AND (lease_until IS NULL OR lease_until < NOW(3) OR lease_until > NOW(3) + INTERVAL ? SECOND)
        ORDER BY lease_until LIMIT ? FOR UPDATE SKIP LOCKED`,
      [policy.maxLeaseSeconds ?? 864_000, limit],
    );
    const requeued: number[] = [];
    const unstarted: number[] = [];
    const failed: LostJobFailure[] = [];
    // As the server sent them: a ref beyond 2^53 arrives as a string and must go back unrounded.
    const refused = expired.filter((job) => !Number.isSafeInteger(Number(job.ref))).map((job) => String(job.ref));
    for (const job of expired.filter((job) => Number.isSafeInteger(Number(job.ref)))) {
      const ref = Number(job.ref);
      const max = job.max_attempts ?? policy.maxAttempts(job.type);
      if (Number(job.unstarted) === 1) unstarted.push(ref);
      else if (policy.onLost(job.type) === "retry" && job.attempts < max) requeued.push(ref);
      else {
        const notice = policy.failureNotice?.({ ref, type: job.type, user: job.user, failureText: job.failure_text, error: LOST_ERROR }) ?? null;
        failed.push({ ref, type: job.type, user: job.user, notice });
      }
    }
    const note = (what: string) =>
      `CONCAT(COALESCE(log, ''), '\n[', DATE_FORMAT(NOW(3), '%Y-%m-%d %H:%i:%s.%f'), '] attempt ', attempts, ' lost: the lease of ', COALESCE(locked_by, '?'), ' expired; ${what}\n')`;
    if (requeued.length) {
      await execute(sql, `UPDATE ${db.quoted()} SET status = 'pending', run_after = NOW(3), lease_until = NULL, log = ${note("re-queued")} WHERE ref IN (?)`, [
        requeued,
      ]);
    }
    if (unstarted.length) {
      const never = `CONCAT(COALESCE(log, ''), '\n[', DATE_FORMAT(NOW(3), '%Y-%m-%d %H:%i:%s.%f'), '] claimed by ', COALESCE(locked_by, '?'), ', whose lease expired with no start of it recorded; re-queued, no attempt counted\n')`;
      await execute(sql, `UPDATE ${db.quoted()} SET status = 'pending', run_after = NOW(3), lease_until = NULL, log = ${never} WHERE ref IN (?)`, [unstarted]);
      requeued.push(...unstarted);
    }
    if (failed.length) {
      const [result, resultP] = caseByRef(
        failed.flatMap((f) => (f.notice === null ? [] : [[f.ref, "?", [JSON.stringify({ notice: f.notice })]] as [number, string, unknown[]]])),
        "result",
      );
      await execute(
        sql,
        `UPDATE ${db.quoted()}
            SET status = 'failed', error = ?, result = ${result}, finished_at = NOW(3), lease_until = NULL, log = ${note("failed")}
          WHERE ref IN (?)`,
        [LOST_ERROR, ...resultP, failed.map((f) => f.ref)],
      );
    }
    if (refused.length) {
      const fail = `status = 'failed', error = ${refRefusalSql("ref")}, finished_at = NOW(3), lease_until = NULL, log = ${note("failed")}`;
      await execute(sql, `UPDATE ${db.quoted()} SET ${fail} WHERE ref IN (?)`, [refused]);
    }
    return { requeued, failed, ...(refused.length ? { refused } : {}), ...(unstarted.length ? { unstarted } : {}) };
  });
}

/**
 * `--clear-lock --job ID`: the job is running, but the process named in locked_by is dead
 * (checked by the caller on this host). Re-queue it now instead of waiting for the lease.
 */
export async function requeueStuckJob(db: Database, ref: number, deadHolder: string): Promise<boolean> {
  const header = await execute(
    db.pool,
    `UPDATE ${db.quoted()}
        SET status = 'pending', run_after = NOW(3), lease_until = NULL,
            log = CONCAT(COALESCE(log, ''), '\n--clear-lock: ', IF(started_at IS NULL, 'a claim with no start recorded', CONCAT('attempt ', attempts)), ' re-queued; its holder ', locked_by, ' is dead\n')
      WHERE ref = ? AND status = 'running' AND locked_by = ?`,
    [ref, deadHolder],
  );
  return header.affectedRows === 1;
}
