import { performance } from "node:perf_hooks";
import { median } from "./stats.js";

/**
 * What migration 2's indexes cost the runner, measured apart from the runner: the claim's and
 * the finish's writes (64 rows a statement, as a claim of 64 and a shared outcome write), on
 * two copies of the job table side by side, one with version 1's indexes and one with
 * version 2's, in alternating blocks so that the machine's other load falls on both alike.
 * `npm run bench` measures the whole runner; on a loaded machine its runs vary by 2× and
 * hide a difference of a few per cent, which this isolates.
 */

type Query = (sql: string, params?: unknown[]) => Promise<unknown[]>;

const BATCH = 64;
const CYCLES_PER_BLOCK = 25;
const BLOCKS = 21;

async function cycle(query: Query, table: string): Promise<void> {
  const found = (await query(`SELECT ref FROM ${table} WHERE status = 'pending' ORDER BY priority, ref LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`)) as Array<{
    ref: number;
  }>;
  const refs = found.map((row) => row.ref);
  await query(
    `UPDATE ${table} SET status = 'running', attempts = attempts + 1, locked_by = 'bench:1', lock_token = MD5(ref),
            lease_until = NOW(3) + INTERVAL 60 SECOND, started_at = NOW(3) WHERE ref IN (?) AND status = 'pending'`,
    [refs],
  );
  await query(
    `UPDATE ${table} SET status = 'complete', finished_at = NOW(3), lease_until = NULL, progress = NULL, result = '{"notice":null}'
      WHERE ref IN (?) AND status = 'running'`,
    [refs],
  );
}

/** Jobs per second claimed and finished on each table, and the ratio v2 / v1. */
export async function measureIndexCost(query: Query, progress: (line: string) => void): Promise<string> {
  const jobs = BATCH * CYCLES_PER_BLOCK * BLOCKS + BATCH;
  await query("CREATE TABLE cost_v2 LIKE job_queue");
  await query("CREATE TABLE cost_v1 LIKE job_queue");
  await query(
    "ALTER TABLE cost_v1 DROP KEY job_queue_status_type, DROP KEY job_queue_user_status, DROP KEY job_queue_created, DROP KEY job_queue_priority, DROP KEY job_queue_user_created, DROP KEY job_queue_user_priority, ADD KEY job_queue_user (user)",
  );
  // The INSERTs an application makes, 64 rows a statement, timed too: every index is one more entry per row.
  const inserts: Record<string, number[]> = { cost_v1: [], cost_v2: [] };
  for (let first = 1; first <= jobs; first += BATCH * CYCLES_PER_BLOCK) {
    for (const table of ["cost_v1", "cost_v2"]) {
      const start = performance.now();
      for (let row = first; row < first + BATCH * CYCLES_PER_BLOCK && row <= jobs; row += BATCH) {
        await query(
          `INSERT INTO ${table} (type, job_data, user, priority) SELECT ELT(1 + seq % 10, 'a','b','c','d','e','f','g','h','i','j'), '{}',
                  CONCAT('user', seq % 50), 2 FROM seq_1_to_${jobs} WHERE seq BETWEEN ? AND ?`,
          [row, Math.min(jobs, row + BATCH - 1)],
        );
      }
      inserts[table]!.push((Math.min(jobs, first + BATCH * CYCLES_PER_BLOCK - 1) - first + 1) / ((performance.now() - start) / 1000));
    }
  }
  const rates: Record<string, number[]> = { cost_v1: [], cost_v2: [] };
  for (let block = 0; block < BLOCKS; block++) {
    for (const table of block % 2 ? ["cost_v2", "cost_v1"] : ["cost_v1", "cost_v2"]) {
      const start = performance.now();
      for (let i = 0; i < CYCLES_PER_BLOCK; i++) await cycle(query, table);
      rates[table]!.push((BATCH * CYCLES_PER_BLOCK) / ((performance.now() - start) / 1000));
    }
    progress(`index cost: block ${block + 1} of ${BLOCKS}`);
  }
  await query("DROP TABLE cost_v1, cost_v2");
  const v1 = median(rates.cost_v1!);
  const v2 = median(rates.cost_v2!);
  // Each block of one table ran next to one of the other: the ratio within a pair is the
  // least disturbed by the machine's other load, and its median the figure to read.
  const pairRatio = median(rates.cost_v2!.map((rate, i) => rate / rates.cost_v1![i]!));
  const insertRatio = median(inserts.cost_v2!.map((rate, i) => rate / inserts.cost_v1![i]!));
  return [
    "",
    `The indexes' cost to the runner's writes (claim ${BATCH} rows, then finish them; ${BLOCKS} alternating blocks of ${BATCH * CYCLES_PER_BLOCK} jobs, median):`,
    `  version 1's indexes: ${v1.toFixed(0)} jobs/s; version 2's: ${v2.toFixed(0)} jobs/s; ratio of the medians ${(v2 / v1).toFixed(2)}, median ratio of neighbouring blocks ${pairRatio.toFixed(2)}`,
    `  INSERTs of 64 rows: version 1 ${median(inserts.cost_v1!).toFixed(0)} rows/s, version 2 ${median(inserts.cost_v2!).toFixed(0)} rows/s; median ratio of neighbouring blocks ${insertRatio.toFixed(2)}`,
    `  blocks: v1 ${rates.cost_v1!.map((r) => r.toFixed(0)).join(", ")}; v2 ${rates.cost_v2!.map((r) => r.toFixed(0)).join(", ")}`,
  ].join("\n");
}
