/**
 * bench/web.ts's table: `rows` jobs as a busy site's table holds them after a month, made on
 * the server by INSERT … SELECT from MariaDB's sequence engine (seq_1_to_N), a chunk at a
 * time, in a minute or so for a million.
 *
 * The mix: the newest 5,000 are the queue (pending, every 250th running under a live lease);
 * of the rest about 95 % complete, 3 % failed, 2 % cancelled. 10 types, skewed as a site's
 * are (40 % preview … 0.2 % rare_report); 50 users plus `cli:deploy` on 1 %; priority 2, 0 on
 * 5 %, 5 on 5 %. created_at spreads the oldest 80 % over 29 days and the newest 20 % over the
 * last 24 hours (a busy day: the chart and the durations read 200,000 rows), ascending with ref;
 * each finished job ran 0.05–10 s on web1–web3. job_data's `batch` is "b0"…"b999", so one
 * batch is one row in 1,000.
 */

type Query = (sql: string, params?: unknown[]) => Promise<unknown[]>;

export const QUEUE_ROWS = 5000;
const CHUNK = 100_000;

export const TYPES = ["preview", "thumbnail", "download", "zip", "extract_text", "video", "waveform", "delete", "command", "rare_report"];

/** One chunk's rows: the sequence up to `last`; parameters: the total, then the chunk's first number. */
const fillStatement = (last: number) => `
INSERT INTO job_queue (type, job_data, user, priority, status, run_after, attempts, created_at, started_at, finished_at,
                       locked_by, lease_until, progress, result, error)
SELECT type, job_data, user, priority, status, created_at, attempts, created_at,
       IF(status IN ('complete', 'failed', 'running'), started_at, NULL),
       CASE status WHEN 'complete' THEN started_at + INTERVAL duration_ms * 1000 MICROSECOND
                   WHEN 'failed' THEN started_at + INTERVAL duration_ms * 1000 MICROSECOND
                   WHEN 'cancelled' THEN created_at + INTERVAL 1 SECOND END,
       IF(status IN ('complete', 'failed', 'running'), locked_by, NULL),
       IF(status = 'running', NOW(3) + INTERVAL 60 SECOND, NULL),
       IF(status = 'running', 40, NULL),
       IF(status = 'complete', CONCAT('{"bytes":', h * 1000, '}'), NULL),
       IF(status = 'failed', 'the source file is missing', NULL)
  FROM (
    SELECT i, h, h2, duration_ms, type, job_data, user, priority, status, created_at, locked_by, attempts,
           IF(status = 'running', NOW(3) - INTERVAL 10 SECOND, created_at + INTERVAL 1 SECOND) AS started_at
      FROM (
        SELECT i, h, h2, duration_ms, job_data, user, priority, locked_by,
               CASE WHEN h2 < 400 THEN 'preview' WHEN h2 < 600 THEN 'thumbnail' WHEN h2 < 720 THEN 'download'
                    WHEN h2 < 820 THEN 'zip' WHEN h2 < 880 THEN 'extract_text' WHEN h2 < 930 THEN 'video'
                    WHEN h2 < 960 THEN 'waveform' WHEN h2 < 980 THEN 'delete' WHEN h2 < 995 THEN 'command'
                    ELSE 'rare_report' END AS type,
               CASE WHEN i > total - ${QUEUE_ROWS} THEN IF(i % 250 = 0, 'running', 'pending')
                    WHEN h < 950 THEN 'complete' WHEN h < 980 THEN 'failed' ELSE 'cancelled' END AS status,
               IF(h < 980 AND h >= 950, 3, 1) AS attempts,
               NOW(3) - INTERVAL ROUND(IF(i > total * 0.8, (total - i) * 86400 / (total * 0.2),
                                          86400 + (total * 0.8 - i) * 29 * 86400 / (total * 0.8)) * 1000000) MICROSECOND AS created_at
          FROM (
            SELECT seq AS i, CAST(? AS SIGNED) AS total, (seq * 2654435761) % 1000 AS h, (seq * 40503) % 997 AS h2,
                   50 + (seq * 13) % 9950 AS duration_ms,
                   CONCAT('{"resource":', seq, ',"batch":"b', seq % 1000, '","size":"pre"}') AS job_data,
                   IF((seq * 40503) % 997 % 100 = 7, 'cli:deploy', CONCAT('user', LPAD(1 + seq % 50, 2, '0'))) AS user,
                   CASE (seq * 31) % 20 WHEN 0 THEN 0 WHEN 1 THEN 5 ELSE 2 END AS priority,
                   CONCAT('web', 1 + seq % 3, ':', 1000 + seq % 7) AS locked_by
              FROM seq_1_to_${last} WHERE seq >= ?
          ) AS base
      ) AS typed
  ) AS timed`;

export async function fillJobs(query: Query, rows: number, progress: (line: string) => void): Promise<void> {
  const started = Date.now();
  for (let first = 1; first <= rows; first += CHUNK) {
    const last = Math.min(rows, first + CHUNK - 1);
    await query(fillStatement(last), [rows, first]);
    progress(`filled ${last.toLocaleString("en-US")} of ${rows.toLocaleString("en-US")} rows (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  await query("ANALYZE TABLE job_queue");
}
