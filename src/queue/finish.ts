import { execute, rows, withRetry, type Database } from "./db.js";
import { caseByRef, countStart, fence, instantsByRef, KEPT_LOG, type JobHandle, type StartedHandle } from "./fenced-update.js";

/**
 * What became of one attempt, as the runner reports it. `startedAt`, `endedAt`: when the
 * attempt started and ended (ms since the epoch), written as started_at (for a job whose claim
 * did not record its start: countStart) and finished_at, not the instant of the gathered write.
 */
export type Outcome = StartedHandle & { endedAt?: number } & (
    | { kind: "complete"; result: string; log: string }
    | { kind: "failed"; result: string | null; error: string; log: string }
    | { kind: "retry"; error: string; log: string; delaySeconds: number }
  );

/**
 * Records the outcome of many attempts in one UPDATE (one commit). Fenced: a row is written
 * only while it is still running under the token of the claim that ran it, so a process
 * whose lease expired and was taken over cannot overwrite the new holder. Returns the refs
 * that were fenced out (nothing written for them).
 */
export async function finishJobs(db: Database, outcomes: Outcome[], logMaxChars: number): Promise<number[]> {
  if (outcomes.length === 0) return [];
  // One column's value for every outcome: its CASE by ref, or its one expression when all agree.
  const column = (f: (o: Outcome) => [string, unknown[]] | undefined, otherwise: string) =>
    caseByRef(
      outcomes.flatMap((o) => {
        const arm = f(o);
        return arm ? [[o.ref, arm[0], arm[1]] as [number, string, unknown[]]] : [];
      }),
      otherwise,
      outcomes.length,
    );
  const [status, statusP] = column((o) => ["?", [o.kind === "retry" ? "pending" : o.kind]], "status");
  const [result, resultP] = column((o) => (o.kind === "retry" ? undefined : ["?", [o.result]]), "result");
  const [error, errorP] = column((o) => (o.kind === "complete" ? undefined : ["?", [o.error]]), "error");
  const [runAfter, runAfterP] = column((o) => (o.kind === "retry" ? ["NOW(3) + INTERVAL ? SECOND", [o.delaySeconds]] : undefined), "run_after");
  const [progress, progressP] = column((o) => (o.kind === "complete" ? ["100", []] : undefined), "progress");
  // The log text per job, the expression around it once.
  const [logText, logTextP] = column((o) => ["?", [o.log]], "''");
  const [log, logP] = [`RIGHT(CONCAT(${KEPT_LOG}, ${logText}), ?)`, [logMaxChars, ...logTextP, logMaxChars]];
  const [where, whereP] = fence(outcomes);
  // Each SET names its own CASE: MySQL evaluates assignments left to right, so an
  // expression reading `status` after `status = …` would see the new value. countStart: an
  // attempt claimed ahead whose start was not recorded yet is counted by its outcome. The
  // instants are ages from now, so they are worked out again for a statement sent again.
  const header = await withRetry(() => {
    const [finished, finishedP] = instantsByRef(outcomes.map((o) => ({ ref: o.ref, at: o.kind === "retry" ? "finished_at" : o.endedAt })));
    const [started, startedP] = countStart(outcomes);
    return execute(
      db.pool,
      `UPDATE ${db.quoted()}
          SET status = ${status}, result = ${result}, error = ${error}, run_after = ${runAfter},
              finished_at = ${finished}, progress = ${progress}, log = ${log}, lease_until = NULL, ${started}
        WHERE ${where} AND status = 'running'`,
      [...statusP, ...resultP, ...errorP, ...runAfterP, ...finishedP, ...progressP, ...logP, ...startedP, ...whereP],
    );
  });
  if (header.affectedRows === outcomes.length) return [];
  return whichAreNotOurs(db, outcomes);
}

async function whichAreNotOurs(db: Database, jobs: Outcome[]): Promise<number[]> {
  const current = await rows<{ ref: number; status: string; lock_token: string | null }>(
    db.pool,
    `SELECT ref, status, lock_token FROM ${db.quoted()} WHERE ref IN (?)`,
    [jobs.map((j) => j.ref)],
  );
  const byRef = new Map(current.map((row) => [Number(row.ref), row]));
  return jobs
    .filter((job) => {
      const row = byRef.get(job.ref);
      return !row || row.lock_token !== job.token || row.status !== (job.kind === "retry" ? "pending" : job.kind);
    })
    .map((job) => job.ref);
}

/**
 * Appends the log text of running jobs to their rows (the live log `show --follow` tails), in
 * one statement. Fenced like every write: a job no longer ours gets nothing.
 */
export async function appendJobLogs(db: Database, entries: Array<JobHandle & { text: string }>, logMaxChars: number): Promise<void> {
  if (entries.length === 0) return;
  const [log, logP] = caseByRef(
    entries.map((e) => [e.ref, `RIGHT(CONCAT(${KEPT_LOG}, ?), ?)`, [logMaxChars, e.text, logMaxChars]]),
    "log",
  );
  const [where, whereP] = fence(entries);
  await withRetry(() => execute(db.pool, `UPDATE ${db.quoted()} SET log = ${log} WHERE ${where} AND status = 'running'`, [...logP, ...whereP]));
}

/**
 * A job cancelled while it ran (`started`: when, in ms since the epoch), or while it waited in
 * its claimer's buffer: keep status cancelled, add its log and end time, and count the attempt
 * only if it started.
 */
export async function recordCancelled(db: Database, job: JobHandle, log: string, logMaxChars: number, started?: number): Promise<void> {
  await withRetry(() => {
    const [count, countP] = started === undefined ? ["", []] : countStart([{ ...job, startedAt: started }]);
    return execute(
      db.pool,
      `UPDATE ${db.quoted()}
          SET finished_at = COALESCE(finished_at, NOW(3)), lease_until = NULL, log = RIGHT(CONCAT(${KEPT_LOG}, ?), ?)${count ? `, ${count}` : ""}
        WHERE ref = ? AND lock_token = ? AND status = 'cancelled'`,
      [logMaxChars, log, logMaxChars, ...countP, job.ref, job.token],
    );
  });
}
