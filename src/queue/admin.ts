import { rows, type Database } from "./db.js";

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

export async function getJob(db: Database, ref: number): Promise<JobRow | undefined> {
  const [row] = await rows<JobRow>(db.pool, `SELECT ${COLUMNS} FROM ${db.quoted()} WHERE ref = ?`, [ref]);
  return row ? { ...row, ref: Number(row.ref) } : undefined;
}

export interface ListFilter {
  /** A status, "active" (pending + running) or "all". */
  status?: JobStatus | "active" | "all";
  types?: string[];
  user?: string;
  limit?: number;
}

/** Newest first; the log is left out (see getJob). */
export async function listJobs(db: Database, filter: ListFilter = {}): Promise<Omit<JobRow, "log" | "job_data">[]> {
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
  params.push(filter.limit ?? 50);
  const columns = COLUMNS.replace(", job_data", "").replace(", log", "");
  const found = await rows<JobRow>(
    db.pool,
    `SELECT ${columns} FROM ${db.quoted()} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ref DESC LIMIT ?`,
    params,
  );
  return found.map((row) => ({ ...row, ref: Number(row.ref) }));
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

/** What a claim would take first (for --dry-run): no locks, nothing changed. */
export async function peekDueJobs(db: Database, types: string[], limit: number): Promise<Array<Pick<JobRow, "ref" | "type" | "priority" | "attempts">>> {
  if (types.length === 0) return [];
  return rows(
    db.pool,
    `SELECT ref, type, priority, attempts FROM ${db.quoted()}
      WHERE status = 'pending' AND run_after <= NOW(3) AND type IN (?) ORDER BY priority, ref LIMIT ?`,
    [types, limit],
  );
}
