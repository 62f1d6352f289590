import type { TestDatabase } from "./database.js";

/**
 * Rows for the jobs page's tests, inserted as an application would (any column may hold
 * anything it accepts), and read back whole so that a test can compute what a page must show.
 */
export interface RowSpec {
  type?: string;
  job_data?: string | null;
  user?: string | null;
  priority?: number;
  status?: string;
  created_at?: string;
  run_after?: string;
  started_at?: string | null;
  finished_at?: string | null;
  locked_by?: string | null;
  lease_until?: string | null;
  log?: string | null;
}

const COLUMNS = [
  "type",
  "job_data",
  "user",
  "priority",
  "status",
  "created_at",
  "run_after",
  "started_at",
  "finished_at",
  "locked_by",
  "lease_until",
  "log",
] as const;

/** Inserts the rows in one statement; returns their refs in order. Unset columns take the table's defaults. */
export async function insertRows(t: TestDatabase, specs: RowSpec[]): Promise<number[]> {
  const refs: number[] = [];
  for (const spec of specs) {
    const values: Record<string, unknown> = { type: "noop", job_data: "{}" };
    for (const column of COLUMNS) if (spec[column] !== undefined) values[column] = spec[column];
    const [header] = await t.db.pool.query("INSERT INTO job_queue SET ?", [values]);
    refs.push(Number((header as unknown as { insertId: number }).insertId));
  }
  return refs;
}

export interface StoredRow {
  ref: number;
  type: string;
  job_data: string | null;
  user: string | null;
  priority: number;
  status: string;
  created_at: string;
  run_after: string;
  locked_by: string | null;
  due: number;
}

export async function allRows(t: TestDatabase): Promise<StoredRow[]> {
  const found = await t.query<StoredRow>(
    "SELECT ref, type, job_data, user, priority, status, created_at, run_after, locked_by, run_after <= NOW(3) AS due FROM job_queue ORDER BY ref",
  );
  return found.map((row) => ({ ...row, ref: Number(row.ref), due: Number(row.due) }));
}
