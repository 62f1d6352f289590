import { rows, type Database } from "./db.js";
import { instantSql } from "./instant.js";

export const STATUSES = ["pending", "running", "complete", "failed", "cancelled"] as const;
export type JobStatus = (typeof STATUSES)[number];

/** A row of the job table, as `show --json` prints it (result parsed when it is JSON). */
export interface JobRow {
  ref: number;
  type: string;
  job_data: string | null;
  job_code: string | null;
  user: string | null;
  priority: number;
  status: JobStatus;
  run_after: string;
  attempts: number;
  max_attempts: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  locked_by: string | null;
  lock_token: string | null;
  lease_until: string | null;
  progress: number | null;
  success_text: string | null;
  failure_text: string | null;
  result: string | null;
  error: string | null;
  log: string | null;
}

const COLUMNS =
  "ref, type, job_data, job_code, user, priority, status, run_after, attempts, max_attempts, created_at, started_at, " +
  "finished_at, locked_by, lock_token, lease_until, progress, success_text, failure_text, result, error, log";

/** The result column as a value: JSON parsed; text that is not JSON stays text (an application may write anything). */
export function parseResult(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function getJob(db: Database, ref: number): Promise<JobRow | undefined> {
  const [row] = await rows<JobRow>(db.pool, `SELECT ${COLUMNS} FROM ${db.quoted()} WHERE ref = ?`, [ref]);
  return row ? { ...row, ref: Number(row.ref) } : undefined;
}

/** A job filter as `list` and `export` take it. */
export interface JobFilter {
  /** A status, "active" (pending + running) or "all". */
  status?: JobStatus | "active" | "all";
  types?: string[];
  user?: string;
  /** Created at or after: an instant, or so many seconds before the server's NOW(3). */
  since?: Date | { secondsAgo: number };
}

export interface ListFilter extends JobFilter {
  limit?: number;
}

/** WHERE conditions and their parameters for a filter (conditions joined with AND; "1" when none). */
function filterClause(filter: JobFilter): { where: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const status = filter.status ?? "all";
  if (status === "active") where.push("status IN ('pending', 'running')");
  else if (status !== "all") {
    where.push("status = ?");
    params.push(status);
  }
  if (filter.types?.length) {
    where.push("type IN (?)");
    params.push(filter.types);
  }
  if (filter.user !== undefined) {
    where.push("user = ?");
    params.push(filter.user);
  }
  if (filter.since instanceof Date) {
    // In the server's own time zone, as created_at is stored.
    const since = instantSql(filter.since);
    where.push(`created_at >= ${since.sql}`);
    params.push(...since.params);
  } else if (filter.since) {
    where.push("created_at >= NOW(3) - INTERVAL ? SECOND");
    params.push(filter.since.secondsAgo);
  }
  return { where: where.length ? where.join(" AND ") : "1", params };
}

/** A row of `list`: no log and no job_data (they can be large), plus where it stands in the queue. */
export type ListedJob = Omit<JobRow, "log" | "job_data"> & {
  /** For a due pending job: how many due pending jobs a claim takes before it (0: next). Else null. */
  position: number | null;
  /** For a pending job not yet due: seconds until it is, by the server's clock. Else null. */
  dueInSeconds: number | null;
};

/**
 * Newest first. Queue positions come from the same statement: ROW_NUMBER() over every due
 * pending row in claim order (priority, ref), whatever the filter, joined to the page. That
 * is one pass over the due pending rows (the claim index) per page, not a count per row;
 * it is left out when the filter cannot show a pending job.
 */
export async function listJobs(db: Database, filter: ListFilter = {}): Promise<ListedJob[]> {
  const { where, params } = filterClause(filter);
  const status = filter.status ?? "all";
  const withQueue = status === "pending" || status === "active" || status === "all";
  const columns = COLUMNS.replace(", job_data", "").replace(", log", "");
  const page = `SELECT ${columns},
      IF(status = 'pending' AND run_after > NOW(3), TIMESTAMPDIFF(SECOND, NOW(3), run_after), NULL) AS due_in_seconds
    FROM ${db.quoted()} WHERE ${where} ORDER BY ref DESC LIMIT ?`;
  const statement = withQueue
    ? `SELECT page.*, queue.position FROM (${page}) AS page
        LEFT JOIN (SELECT ref, ROW_NUMBER() OVER (ORDER BY priority, ref) - 1 AS position
                     FROM ${db.quoted()} WHERE status = 'pending' AND run_after <= NOW(3)) AS queue
          ON queue.ref = page.ref
        ORDER BY page.ref DESC`
    : `SELECT page.*, NULL AS position FROM (${page}) AS page ORDER BY page.ref DESC`;
  const found = await rows<JobRow & { position: number | null; due_in_seconds: number | null }>(db.pool, statement, [...params, filter.limit ?? 50]);
  return found.map(({ due_in_seconds, position, ...row }) => ({
    ...row,
    ref: Number(row.ref),
    position: position === null ? null : Number(position),
    dueInSeconds: due_in_seconds === null ? null : Number(due_in_seconds),
  }));
}

/** How many due pending jobs a claim takes before this one (0: next); null unless it is due and pending. */
export async function queuePosition(db: Database, ref: number): Promise<number | null> {
  const [row] = await rows<{ ahead: number | null }>(
    db.pool,
    `SELECT (SELECT COUNT(*) FROM ${db.quoted()} AS other
              WHERE other.status = 'pending' AND other.run_after <= NOW(3)
                AND (other.priority < job.priority OR (other.priority = job.priority AND other.ref < job.ref))) AS ahead
       FROM ${db.quoted()} AS job WHERE job.ref = ? AND job.status = 'pending' AND job.run_after <= NOW(3)`,
    [ref],
  );
  return row ? Number(row.ahead) : null;
}

/** The columns `export --csv` needs; the result only where its notice is wanted (see jobInfo). */
export type ExportedJob = Pick<
  JobRow,
  "ref" | "type" | "user" | "status" | "created_at" | "started_at" | "finished_at" | "run_after" | "attempts" | "progress" | "locked_by" | "error" | "result"
>;

/**
 * Every matching job, oldest first, fetched `pageSize` rows at a time by ref (keyset paging:
 * each page is a primary-key range scan, and memory holds one page whatever the table's size).
 */
export async function* exportJobs(db: Database, filter: JobFilter = {}, pageSize = 1000): AsyncGenerator<ExportedJob[]> {
  const { where, params } = filterClause(filter);
  let after = 0;
  for (;;) {
    const page = await rows<ExportedJob>(
      db.pool,
      `SELECT ref, type, user, status, created_at, started_at, finished_at, run_after, attempts, progress, locked_by, error,
              IF(status IN ('complete', 'failed', 'cancelled'), result, NULL) AS result
         FROM ${db.quoted()} WHERE ${where} AND ref > ? ORDER BY ref LIMIT ?`,
      [...params, after, pageSize],
    );
    if (page.length === 0) return;
    for (const row of page) row.ref = Number(row.ref);
    yield page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.ref;
  }
}

/** What `show --follow` polls: the state of a job and its log from a character offset (1-based, as SQL's SUBSTRING). */
export interface JobProgress {
  status: JobStatus;
  progress: number | null;
  attempts: number;
  max_attempts: number | null;
  locked_by: string | null;
  /** True once no process holds the job (lease_until is NULL): a cancelled job's last log is written by then. */
  released: boolean;
  error: string | null;
  result: string | null;
  /** The log's length in characters. */
  log_length: number;
  log_from: string;
}

export async function pollJob(db: Database, ref: number, logFrom: number): Promise<JobProgress | undefined> {
  const [row] = await rows<JobProgress>(
    db.pool,
    `SELECT status, progress, attempts, max_attempts, locked_by, lease_until IS NULL AS released, error, result,
            CHAR_LENGTH(COALESCE(log, '')) AS log_length, SUBSTRING(COALESCE(log, ''), ?) AS log_from
       FROM ${db.quoted()} WHERE ref = ?`,
    [Math.max(1, logFrom), ref],
  );
  return row ? { ...row, released: Boolean(Number(row.released)), log_length: Number(row.log_length) } : undefined;
}

export interface Stats {
  counts: Array<{ type: string; status: JobStatus; jobs: number }>;
  /** Seconds the oldest due pending job has waited, or null. */
  oldestPendingSeconds: number | null;
}

export async function jobStats(db: Database): Promise<Stats> {
  const counts = await rows<{ type: string; status: JobStatus; jobs: number }>(
    db.pool,
    `SELECT type, status, COUNT(*) AS jobs FROM ${db.quoted()} GROUP BY type, status ORDER BY type, status`,
  );
  const [oldest] = await rows<{ age: number | null }>(
    db.pool,
    `SELECT TIMESTAMPDIFF(SECOND, MIN(run_after), NOW(3)) AS age FROM ${db.quoted()} WHERE status = 'pending' AND run_after <= NOW(3)`,
  );
  return {
    counts: counts.map((c) => ({ ...c, jobs: Number(c.jobs) })),
    oldestPendingSeconds: oldest?.age === null || oldest?.age === undefined ? null : Number(oldest.age),
  };
}

/** Stats' counts by type, every status present (0 when none), types in the order jobStats gives them. */
export function countsByType(stats: Stats): Map<string, Record<JobStatus, number>> {
  const byType = new Map<string, Record<JobStatus, number>>();
  for (const { type, status, jobs } of stats.counts) {
    const counts = byType.get(type) ?? (Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>);
    counts[status] = jobs;
    byType.set(type, counts);
  }
  return byType;
}

/** What a claim would take first (for --dry-run): no locks, nothing changed. Types compare exactly, as the claim's do. */
export async function peekDueJobs(db: Database, types: string[], limit: number): Promise<Array<Pick<JobRow, "ref" | "type" | "priority" | "attempts">>> {
  if (types.length === 0) return [];
  return rows(
    db.pool,
    `SELECT ref, type, priority, attempts FROM ${db.quoted()}
      WHERE status = 'pending' AND run_after <= NOW(3) AND CAST(type AS BINARY) IN (?) ORDER BY priority, ref LIMIT ?`,
    [types, limit],
  );
}

/** Due pending jobs of these types (the "of m" of a run's progress display). */
export async function countDueJobs(db: Database, types: string[]): Promise<number> {
  if (types.length === 0) return 0;
  const [row] = await rows<{ due: number }>(
    db.pool,
    `SELECT COUNT(*) AS due FROM ${db.quoted()} WHERE status = 'pending' AND run_after <= NOW(3) AND CAST(type AS BINARY) IN (?)`,
    [types],
  );
  return Number(row?.due ?? 0);
}
