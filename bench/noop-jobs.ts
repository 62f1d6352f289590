/** Empties offline-jobs' table and queues `count` no-op jobs, as an application's multi-row INSERTs would. */
export async function fillNoopJobs(sql: { query(statement: string, params?: unknown[]): Promise<unknown> }, count: number, chunk = 50_000): Promise<void> {
  await sql.query("TRUNCATE TABLE job_queue");
  for (let done = 0; done < count; done += chunk) {
    const values = Array.from({ length: Math.min(chunk, count - done) }, () => ["noop", "{}"]);
    await sql.query("INSERT INTO job_queue (type, job_data) VALUES ?", [values]);
  }
}
