import { UsageError } from "../errors.js";
import type { ExportedJob } from "./admin.js";
import { rows, type Database } from "./db.js";
import { DATA_FIELD_SCAN_LIMIT } from "./job-page.js";
import { dataFieldCondition, fullCondition, matchCondition, type JobQuery, type JobScope } from "./job-query.js";

/**
 * Everything matching the jobs page's filter, rather than one page of it: how many (capped),
 * their refs (for "act on everything matching"), a CSV export, and which of some refs a scope
 * may touch. Every statement applies the scope; none has an OFFSET.
 */

export interface MatchCount {
  count: number;
  /** More than `cap` match: show "cap+". */
  capped: boolean;
  /**
   * With a dataField filter: only the newest `scanLimit` rows of the table were read, and
   * older ones match the other filters, so `count` is a lower bound ("at least N").
   */
  partial: boolean;
}

function checkLimit(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`${what} must be a whole number of 0 or more`);
}

/**
 * Counts at most cap + 1 rows, so a filter that matches millions costs no more than one that
 * matches cap. With a dataField filter, only the newest scanLimit rows of the table are read
 * (see data-field-scan.ts).
 */
export async function countMatchingJobs(
  db: Database,
  scope: JobScope,
  query: JobQuery,
  cap: number,
  options: { scanLimit?: number } = {},
): Promise<MatchCount> {
  checkLimit("the count's cap", cap);
  const data = dataFieldCondition(query);
  const base = matchCondition(scope, query);
  if (!data) {
    const [row] = await rows<{ n: number }>(db.pool, `SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${db.quoted()} WHERE ${base.where} LIMIT ?) AS matching`, [
      ...base.params,
      cap + 1,
    ]);
    const n = Number(row?.n ?? 0);
    return { count: Math.min(n, cap), capped: n > cap, partial: false };
  }
  const scanLimit = options.scanLimit ?? DATA_FIELD_SCAN_LIMIT;
  checkLimit("the scan limit", scanLimit);
  // The newest scanLimit rows of the table (their edge found down the primary key), as a
  // page's window is (data-field-scan.ts); "more" if a row of the other filters is older.
  const [row] = await rows<{ hits: number | null; more: number | null }>(
    db.pool,
    `SELECT (SELECT COUNT(*) FROM ${db.quoted()} WHERE ${base.where} AND ${data.where} AND ref >= bound.edge) AS hits,
            EXISTS (SELECT 1 FROM ${db.quoted()} WHERE ${base.where} AND ref < bound.edge) AS more
       FROM (SELECT MIN(ref) AS edge FROM (SELECT ref FROM ${db.quoted()} ORDER BY ref DESC LIMIT ?) AS newest) AS bound`,
    [...base.params, ...data.params, ...base.params, scanLimit],
  );
  const hits = Number(row?.hits ?? 0);
  return { count: Math.min(hits, cap), capped: hits > cap, partial: Number(row?.more ?? 0) === 1 };
}

/** Rows a chunk of matchingRefs and exportMatchingJobs reads at a time (by primary key). */
const CHUNK = 1000;

/**
 * The refs matching, ascending, at most `limit`. A chunk of primary-key range at a time, so
 * that a dataField filter, which reads every row of the other filters' range, never does so
 * in one long statement.
 */
export async function matchingRefs(db: Database, scope: JobScope, query: JobQuery, limit: number): Promise<number[]> {
  checkLimit("the limit", limit);
  const base = matchCondition(scope, query);
  const data = dataFieldCondition(query);
  const refs: number[] = [];
  let after = 0n;
  while (refs.length < limit) {
    const found = await rows<{ ref_text: string; hit: number | null }>(
      db.pool,
      `SELECT CAST(ref AS CHAR) AS ref_text, ${data ? data.where : "1"} AS hit FROM ${db.quoted()}
        WHERE ${base.where} AND ref > ? ORDER BY ref LIMIT ?`,
      [...(data?.params ?? []), ...base.params, after, data ? CHUNK : limit - refs.length],
    );
    for (const row of found) if (Number(row.hit) === 1 && refs.length < limit) refs.push(Number(row.ref_text));
    if (!data || found.length < CHUNK) return refs;
    after = BigInt(found[found.length - 1]!.ref_text);
  }
  return refs;
}

/** Export's columns, as exportJobs (admin.ts) has them: the result only once the job has ended. */
const EXPORT_COLUMNS = `type, user, status, created_at, started_at, finished_at, run_after, attempts, progress, locked_by, error,
  IF(status IN ('complete', 'failed', 'cancelled'), result, NULL) AS result`;

/** Every matching job, oldest first, a page of refs at a time (keyset on the primary key: memory holds one page). */
export async function* exportMatchingJobs(db: Database, scope: JobScope, query: JobQuery, pageSize = CHUNK): AsyncGenerator<ExportedJob[]> {
  const base = matchCondition(scope, query);
  const data = dataFieldCondition(query);
  let after = 0n;
  for (;;) {
    const found = await rows<ExportedJob & { ref_text: string; hit: number | null }>(
      db.pool,
      `SELECT CAST(ref AS CHAR) AS ref_text, ${data ? data.where : "1"} AS hit, ${EXPORT_COLUMNS}
         FROM ${db.quoted()} WHERE ${base.where} AND ref > ? ORDER BY ref LIMIT ?`,
      [...(data?.params ?? []), ...base.params, after, pageSize],
    );
    if (found.length === 0) return;
    const page = found.filter((row) => Number(row.hit) === 1).map(({ ref_text, hit: _, ...row }) => ({ ...row, ref: Number(ref_text) }));
    if (page.length) yield page;
    if (found.length < pageSize) return;
    after = BigInt(found[found.length - 1]!.ref_text);
  }
}

/** Which of `refs` the scope may see (and so act on), ascending; refs of other users' jobs and of no job are left out. */
export async function refsInScope(db: Database, scope: JobScope, refs: number[]): Promise<number[]> {
  const unique = [...new Set(refs)].filter((ref) => Number.isSafeInteger(ref) && ref >= 1);
  const inScope: number[] = [];
  const { where, params } = fullCondition(scope, {});
  for (let i = 0; i < unique.length; i += CHUNK) {
    const found = await rows<{ ref: number }>(db.pool, `SELECT ref FROM ${db.quoted()} WHERE ${where} AND ref IN (?) ORDER BY ref`, [
      ...params,
      unique.slice(i, i + CHUNK),
    ]);
    inScope.push(...found.map((row) => Number(row.ref)));
  }
  return inScope.sort((a, b) => a - b);
}

/**
 * The jobs of `refs` that the scope may see, with the export's columns (no job_data, no log):
 * one statement for up to a page of refs (the jobs page's ticked selection), a primary-key
 * range lookup, not one lookup per ref.
 */
export async function exportedJobsByRef(db: Database, scope: JobScope, refs: readonly number[]): Promise<ExportedJob[]> {
  const unique = [...new Set(refs)].filter((ref) => Number.isSafeInteger(ref) && ref >= 1);
  const found: ExportedJob[] = [];
  const { where, params } = fullCondition(scope, {});
  for (let i = 0; i < unique.length; i += CHUNK) {
    const page = await rows<ExportedJob & { ref_text: string }>(
      db.pool,
      `SELECT CAST(ref AS CHAR) AS ref_text, ${EXPORT_COLUMNS} FROM ${db.quoted()} WHERE ${where} AND ref IN (?) ORDER BY ref`,
      [...params, unique.slice(i, i + CHUNK)],
    );
    found.push(...page.map(({ ref_text, ...row }) => ({ ...row, ref: Number(ref_text) })));
  }
  return found;
}
