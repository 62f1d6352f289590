import { UsageError } from "../errors.js";
import type { ListedJob } from "./admin.js";
import { rows, type Database } from "./db.js";
import { afterKey, checkSort, decodeCursor, encodeCursor, keyOf, orderBy, type JobSort, type SortDirection, type SortKeyRow } from "./job-cursor.js";
import { scanMatches } from "./data-field-scan.js";
import { allOf, dataFieldCondition, matchCondition, type JobQuery, type JobScope, type SqlCondition } from "./job-query.js";

export type { JobSort, SortDirection };

/**
 * One page of the jobs page's list, by keyset (job-cursor.ts), newest or oldest first by
 * created, priority or ref. A page is one statement, queue positions included.
 *
 * A job_data field filter cannot use an index, so a page with one reads at most `scanLimit`
 * rows of the table in the page's order (data-field-scan.ts) and stops as soon as it has its
 * page. If the bound comes first, the page is returned short with `scanStopped` and a cursor
 * after the last row read: the user may go on ("no more matches in the next 10,000 jobs:
 * continue?") or narrow the filter, and no request reads more than the bound.
 */

export interface PageRequest {
  sort: JobSort;
  direction: SortDirection;
  pageSize: number;
  /** Opaque keyset cursor returned as nextCursor by the previous page; invalid → throws UsageError. */
  after?: string;
  /** With a dataField filter: read at most this many rows of the table for the page (default DATA_FIELD_SCAN_LIMIT). */
  scanLimit?: number;
}

export interface JobPage {
  jobs: ListedJob[];
  nextCursor: string | null;
  /** With a dataField filter: set when the page stopped at the scan bound (rows of the table read); nextCursor goes on from there. */
  scanStopped?: { scanned: number };
}

/** Rows a dataField filter reads per request, at most: about 60 ms at 1,000,000 rows on a 2-core machine (bench/web.ts). */
export const DATA_FIELD_SCAN_LIMIT = 10_000;
const MAX_PAGE_SIZE = 1000;

/** ListedJob's columns: no job_data or log, which can be large. */
export const LISTED_COLUMNS =
  "ref, type, job_code, user, priority, status, run_after, attempts, max_attempts, created_at, started_at, finished_at, " +
  "locked_by, lock_token, lease_until, progress, success_text, failure_text, result, error";

type PageRow = Omit<ListedJob, "position" | "dueInSeconds"> & SortKeyRow & { position: number | null; due_in_seconds: number | null };

/**
 * The rows matching `condition`, in the sort's order, at most `limit`, with their queue
 * positions: ROW_NUMBER() over every due pending row in claim order, whatever the filter
 * (one pass over the due pending rows by the claim index), left out when the filter cannot
 * show a pending job.
 */
async function selectPage(
  db: Database,
  condition: SqlCondition,
  sort: JobSort,
  direction: SortDirection,
  limit: number,
  withQueue: boolean,
): Promise<PageRow[]> {
  const page = `SELECT ${LISTED_COLUMNS}, CAST(ref AS CHAR) AS ref_text,
      IF(status = 'pending' AND run_after > NOW(3), TIMESTAMPDIFF(SECOND, NOW(3), run_after), NULL) AS due_in_seconds
    FROM ${db.quoted()} WHERE ${condition.where} ORDER BY ${orderBy(sort, direction)} LIMIT ?`;
  const statement = withQueue
    ? `SELECT page.*, queue.position FROM (${page}) AS page
        LEFT JOIN (SELECT ref, ROW_NUMBER() OVER (ORDER BY priority, ref) - 1 AS position
                     FROM ${db.quoted()} WHERE status = 'pending' AND run_after <= NOW(3)) AS queue
          ON queue.ref = page.ref
        ORDER BY ${orderBy(sort, direction, "page.")}`
    : `SELECT page.*, NULL AS position FROM (${page}) AS page ORDER BY ${orderBy(sort, direction, "page.")}`;
  return rows<PageRow>(db.pool, statement, [...condition.params, limit]);
}

function listed({ ref_text, due_in_seconds, position, ...row }: PageRow): ListedJob {
  return {
    ...row,
    ref: Number(ref_text),
    position: position === null ? null : Number(position),
    dueInSeconds: due_in_seconds === null ? null : Number(due_in_seconds),
  };
}

export async function listJobPage(db: Database, scope: JobScope, query: JobQuery, page: PageRequest): Promise<JobPage> {
  const { sort, direction, pageSize } = page;
  checkSort(sort, direction);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE)
    throw new UsageError(`the page size must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  const base = matchCondition(scope, query);
  const data = dataFieldCondition(query);
  const after = page.after === undefined ? undefined : afterKey(sort, direction, decodeCursor(page.after, sort, direction));
  const withQueue = query.status === undefined || query.status === "pending";
  if (!data) {
    const found = await selectPage(db, allOf(base, after), sort, direction, pageSize + 1, withQueue);
    const jobs = found.slice(0, pageSize);
    const last = found.length > pageSize ? jobs[jobs.length - 1] : undefined;
    return { jobs: jobs.map(listed), nextCursor: last ? encodeCursor(sort, direction, keyOf(sort, last)) : null };
  }
  const scanLimit = page.scanLimit ?? DATA_FIELD_SCAN_LIMIT;
  if (!Number.isInteger(scanLimit) || scanLimit < 1) throw new UsageError("the scan limit must be a whole number of 1 or more");
  const scan = await scanMatches(db, { base, data, start: after }, page, scanLimit);
  const refs = scan.hits.slice(0, pageSize).map((hit) => BigInt(hit.ref_text));
  const found = refs.length ? await selectPage(db, { where: "ref IN (?)", params: [refs] }, sort, direction, pageSize, withQueue) : [];
  const jobs = found.map(listed);
  if (scan.hits.length > pageSize) return { jobs, nextCursor: encodeCursor(sort, direction, keyOf(sort, scan.hits[pageSize - 1]!)) };
  if (scan.lastRead) return { jobs, nextCursor: encodeCursor(sort, direction, keyOf(sort, scan.lastRead)), scanStopped: { scanned: scan.scanned } };
  return { jobs, nextCursor: null };
}
