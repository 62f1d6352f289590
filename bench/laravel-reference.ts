import { performance } from "node:perf_hooks";
import mysql from "mysql2/promise";
import type { RowDataPacket } from "mysql2/promise";

/**
 * The reference for bench/throughput: the one-job-per-transaction pattern of Laravel's
 * database queue driver (laravel/framework, src/Illuminate/Queue/DatabaseQueue.php), run by
 * N worker loops, each on its own connection, as N `php artisan queue:work` processes would.
 *
 * Per job, like DatabaseQueue::pop() then DatabaseJob::delete():
 *   BEGIN
 *   SELECT * … WHERE queue = ? AND ((reserved_at IS NULL AND available_at <= ?) OR reserved_at <= ?)
 *     ORDER BY id ASC LIMIT 1 FOR UPDATE SKIP LOCKED       (getNextAvailableJob, isAvailable, isReservedButExpired)
 *   UPDATE jobs SET reserved_at = ?, attempts = attempts + 1 WHERE id = ?   (markJobAsReserved)
 *   COMMIT
 *   run the job (here: JSON.parse of the payload)
 *   DELETE FROM jobs WHERE id = ?                          (autocommit)
 *
 * Deliberately kind to the reference, so that the ratio is not flattered:
 * - Current Laravel's deleteReserved() wraps the DELETE in its own transaction with a
 *   `SELECT … FOR UPDATE` first (BEGIN, SELECT, DELETE, COMMIT: three more round trips);
 *   here it is one autocommit DELETE, as the benchmark's brief specifies.
 * - Laravel's PDO connections use native prepared statements (ATTR_EMULATE_PREPARES false),
 *   i.e. prepare + execute per statement; here each statement is one text-protocol query.
 * - The PHP side of a worker (framework boot per job, events, the restart-signal cache
 *   lookup of queue:work) is not modelled: only the SQL.
 * Connections are opened before the clock starts (Laravel workers are long-lived).
 */

/** Laravel's `create_jobs_table` migration (database/migrations stub of `php artisan queue:table`). */
const CREATE_JOBS_TABLE = `
  CREATE TABLE jobs (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    queue VARCHAR(255) NOT NULL,
    payload LONGTEXT NOT NULL,
    attempts TINYINT UNSIGNED NOT NULL,
    reserved_at INT UNSIGNED NULL,
    available_at INT UNSIGNED NOT NULL,
    created_at INT UNSIGNED NOT NULL,
    KEY jobs_queue_index (queue)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`;

const QUEUE = "default";
/** config/queue.php's default retry_after for the database connection. */
const RETRY_AFTER_SECONDS = 90;
/** A no-op job's payload, small like offline-jobs' '{}' so that row size plays no part. */
const PAYLOAD = JSON.stringify({ displayName: "App\\Jobs\\Noop", job: "Illuminate\\Queue\\CallQueuedHandler@call", data: {} });

const POP_SQL = `SELECT * FROM jobs WHERE queue = ? AND ((reserved_at IS NULL AND available_at <= ?) OR (reserved_at <= ?))
  ORDER BY id ASC LIMIT 1 FOR UPDATE SKIP LOCKED`;

export interface SqlRunner {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

const now = () => Math.floor(Date.now() / 1000);

export async function createLaravelJobsTable(sql: SqlRunner): Promise<void> {
  await sql.query("DROP TABLE IF EXISTS jobs");
  await sql.query(CREATE_JOBS_TABLE);
}

/** Empties the table and queues `count` jobs, as Queue::bulk() would (multi-row INSERTs). */
export async function fillLaravelJobs(sql: SqlRunner, count: number, chunk = 50_000): Promise<void> {
  await sql.query("TRUNCATE TABLE jobs");
  for (let done = 0; done < count; done += chunk) {
    const t = now();
    const values = Array.from({ length: Math.min(chunk, count - done) }, () => [QUEUE, PAYLOAD, 0, null, t, t]);
    await sql.query("INSERT INTO jobs (queue, payload, attempts, reserved_at, available_at, created_at) VALUES ?", [values]);
  }
}

export interface DrainResult {
  /** Wall time from the first pop to the last worker finding the queue empty. */
  ms: number;
  /** Jobs each worker ran. */
  perWorker: number[];
}

/** Drains the queue with `workers` sequential worker loops on separate connections. */
export async function drainLikeLaravel(url: string, workers: number): Promise<DrainResult> {
  const connections = await Promise.all(Array.from({ length: workers }, () => mysql.createConnection(url)));
  let failure: unknown;
  try {
    const started = performance.now();
    const perWorker = await Promise.all(
      connections.map(async (connection) => {
        let ran = 0;
        try {
          while (!failure && (await popRunDelete(connection))) ran++;
        } catch (error) {
          failure ??= error;
        }
        return ran;
      }),
    );
    if (failure) throw failure;
    return { ms: performance.now() - started, perWorker };
  } finally {
    await Promise.all(connections.map((c) => c.end().catch(() => undefined)));
  }
}

/** One iteration of a Laravel worker: pop (reserve in a transaction), run, delete. False when the queue looked empty. */
async function popRunDelete(connection: mysql.Connection): Promise<boolean> {
  const t = now();
  await connection.beginTransaction();
  let job: RowDataPacket | undefined;
  try {
    const [rows] = await connection.query<RowDataPacket[]>(POP_SQL, [QUEUE, t, t - RETRY_AFTER_SECONDS]);
    job = rows[0];
    if (job) await connection.query("UPDATE jobs SET reserved_at = ?, attempts = attempts + 1 WHERE id = ?", [t, job.id]);
    await connection.commit();
  } catch (error) {
    await connection.rollback().catch(() => undefined);
    throw error;
  }
  if (!job) return false;
  JSON.parse(job.payload as string); // the no-op job
  await connection.query("DELETE FROM jobs WHERE id = ?", [job.id]);
  return true;
}
