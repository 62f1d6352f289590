import { MAX_ATTEMPTS_COUNT } from "./claimed-job.js";

/**
 * The pieces the runner's writes to its rows share (finish.ts, leases.ts): the fence that
 * makes a write land only on rows still held under the claim's token (docs/architecture.md,
 * "Leases, recovery and fencing"), a column's value by ref, and the kept end of a log.
 */

export interface JobHandle {
  ref: number;
  token: string;
}

/**
 * The row's log as an append starts from: its last `?` characters (the cap) only. CONCAT fails
 * (strict mode) when what it makes exceeds max_allowed_packet; cut first, the stored log and the
 * new text together stay within twice the cap, which outcome-bounds.ts keeps under it.
 */
export const KEPT_LOG = "RIGHT(COALESCE(log, ''), ?)";

/** A job whose write may record its start: `startedAt` is when this process started it (ms since the epoch), if it did. */
export interface StartedHandle extends JobHandle {
  startedAt?: number;
}

/** An instant older than this is written as this old: only a clock stepped back or forward could make one. */
const MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/**
 * SET clauses that count a running row's attempt when its start was not recorded yet, and that
 * take it back. While a row is `running`, `started_at IS NULL` says that its attempt is not
 * counted in `attempts`: it was claimed ahead of the slots and has not started, or has started
 * and the write recording it (recordStarts, or the outcome's own) has not gone yet
 * (src/runner/loop/start-marks.ts says why). Every write that ends an attempt that ran counts
 * it with countStart; a give-back undoes the count only where one was made (UNCOUNT_START).
 * started_at is the instant the job started, not the instant of the write (instantsByRef).
 *
 * Order matters: `attempts` is assigned first, reading `started_at` before its own assignment
 * (MySQL evaluates a single-table UPDATE's assignments left to right; MariaDB's
 * SIMULTANEOUS_ASSIGNMENT mode reads the old value anyway). LEAST keeps a row the application
 * set to the column's maximum meanwhile from overflowing it, which would fail the whole
 * statement and every other job's write in it.
 */
export function countStart(jobs: StartedHandle[], now = Date.now()): [string, unknown[]] {
  const [startedAt, params] = instantsByRef(
    jobs.map((job) => ({ ref: job.ref, at: job.startedAt })),
    now,
  );
  return [
    `attempts = IF(started_at IS NULL, LEAST(attempts, ${MAX_ATTEMPTS_COUNT - 1}) + 1, attempts), started_at = COALESCE(started_at, ${startedAt})`,
    params,
  ];
}

/**
 * A column's value per row of a statement, for instants this process measured: `at` in ms
 * since the epoch is written as its age before the server's NOW(3), so that the two machines'
 * clocks need not agree, and a write gathered 20 ms after a job began or ended still records
 * when it did. `at` undefined: NOW(3); a string: that SQL expression (e.g. the column itself,
 * to keep it). Rows are grouped by the millisecond, so a batch of hundreds of outcomes needs a
 * few IN lists, not an arm per job, and the largest group is the ELSE: `rows` must name every
 * row the statement writes.
 */
export function instantsByRef(rows: Array<{ ref: number; at?: number | string }>, now = Date.now()): [string, unknown[]] {
  const groups = new Map<string, number[]>();
  for (const row of rows) {
    const expr = typeof row.at === "number" ? ago(Math.min(MAX_AGE_MS, Math.max(0, Math.round(now - row.at)))) : (row.at ?? "NOW(3)");
    const refs = groups.get(expr);
    if (refs) refs.push(row.ref);
    else groups.set(expr, [row.ref]);
  }
  const bySize = [...groups].sort(([, a], [, b]) => b.length - a.length);
  if (bySize.length === 0) return ["NOW(3)", []];
  const [[commonest], ...rest] = bySize as [[string, number[]], ...Array<[string, number[]]>];
  if (rest.length === 0) return [commonest, []];
  return [`CASE ${rest.map(([expr]) => `WHEN ref IN (?) THEN ${expr}`).join(" ")} ELSE ${commonest} END`, rest.map(([, refs]) => refs)];
}

const ago = (ms: number) => (ms === 0 ? "NOW(3)" : `NOW(3) - INTERVAL ${ms * 1000} MICROSECOND`);

export const UNCOUNT_START = "attempts = IF(started_at IS NULL, attempts, GREATEST(attempts, 1) - 1), started_at = NULL";

function sameValues(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/**
 * `ref = ? AND lock_token = ?` for many jobs at once. The plain `ref IN` lets the optimizer
 * use the primary key, which it does not do for the token test alone. The token test is
 * grouped by token: the jobs of one claim share theirs, so a batch of outcomes names each
 * token once instead of once per job (a third of a finish statement's text was tokens).
 */
export function fence(jobs: JobHandle[]): [string, unknown[]] {
  const byToken = new Map<string, number[]>();
  for (const job of jobs) {
    const refs = byToken.get(job.token);
    if (refs) refs.push(job.ref);
    else byToken.set(job.token, [job.ref]);
  }
  const refs = jobs.map((j) => j.ref);
  if (byToken.size === 1) return ["ref IN (?) AND lock_token = ?", [refs, jobs[0]!.token]];
  const groups = [...byToken].map(([token, group]) => ["(lock_token = ? AND ref IN (?))", [token, group]] as const);
  return [`ref IN (?) AND (${groups.map(([sql]) => sql).join(" OR ")})`, [refs, ...groups.flatMap(([, params]) => params)]];
}

/**
 * `CASE ref WHEN ? THEN <expr> … ELSE <otherwise> END`, with the parameters in order. When
 * every row of the statement gets the same expression (`rows`: how many the statement
 * updates), it is that expression alone: a batch of completions then says `status =
 * 'complete'` once, which the server parses and evaluates once instead of per row.
 */
export function caseByRef(entries: Array<[number, string, unknown[]]>, otherwise: string, rows?: number): [string, unknown[]] {
  if (entries.length === 0) return [otherwise, []];
  const [, firstExpr, firstParams] = entries[0]!;
  if (entries.length === rows && entries.every(([, expr, p]) => expr === firstExpr && sameValues(p, firstParams))) return [firstExpr, firstParams];
  const params: unknown[] = [];
  const arms = entries.map(([ref, expr, p]) => {
    params.push(ref, ...p);
    return `WHEN ? THEN ${expr}`;
  });
  return [`CASE ref ${arms.join(" ")} ELSE ${otherwise} END`, params];
}
