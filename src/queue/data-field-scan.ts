import { rows, type Database } from "./db.js";
import { afterKey, keyOf, orderBy, sortColumns, upToKey, type JobSort, type SortDirection, type SortKeyRow } from "./job-cursor.js";
import { allOf, type SqlCondition } from "./job-query.js";

/**
 * The bounded read behind a page with a job_data field filter (job-page.ts). The filter
 * cannot use an index (job_data is LONGTEXT: JSON_EXTRACT reads each row's text), so a page
 * reads windows of the whole table in the page's order, at most scanLimit rows of the table
 * in all, and stops as soon as it has its page.
 *
 * A window is counted in rows of the table, not of the other filters' range, so that its
 * cost does not depend on them: its edge is found down the sort's own index ((created_at),
 * (priority) or the primary key, entries only), and the rows of the window that match
 * everything are read with the edge as a bound. Counting the other filters' rows instead
 * read half a million index entries for one user's 10,000 rows (1.6 s at 1,000,000 rows),
 * since that user's rows are 2 % of the table in created order.
 */

export interface Scan {
  /** The matching rows' keys, in order: at most pageSize + 1. */
  hits: SortKeyRow[];
  /** Rows of the table the windows held. */
  scanned: number;
  /** Set when the bound stopped the scan before the table ended: the last row of the last window. */
  lastRead?: SortKeyRow;
}

export async function scanMatches(
  db: Database,
  conditions: { base: SqlCondition; data: SqlCondition; start?: SqlCondition },
  page: { sort: JobSort; direction: SortDirection; pageSize: number },
  scanLimit: number,
): Promise<Scan> {
  const { sort, direction, pageSize } = page;
  const { base, data } = conditions;
  const reverse = direction === "asc" ? "desc" : "asc";
  const columns = sortColumns(sort);
  const keySelect = (prefix: string) => [...columns.map((c) => `${prefix}${c}`), `CAST(${prefix}ref AS CHAR) AS ref_text`].join(", ");
  const hits: SortKeyRow[] = [];
  let scanned = 0;
  let after = conditions.start;
  // A small first window (the page is often found in it), then the rest of the bound at once.
  for (let window = Math.min(scanLimit, Math.max(500, pageSize * 10)); ; window = scanLimit - scanned) {
    const from = allOf(after);
    const [edge] = await rows<SortKeyRow & { n: number }>(
      db.pool,
      `SELECT ${keySelect("w.")}, COUNT(*) OVER () AS n
         FROM (SELECT ${[...columns, "ref"].join(", ")}
                 FROM ${db.quoted()} WHERE ${from.where} ORDER BY ${orderBy(sort, direction)} LIMIT ?) AS w
        ORDER BY ${orderBy(sort, reverse)} LIMIT 1`,
      [...from.params, window],
    );
    if (!edge) return { hits, scanned };
    const held = Number(edge.n);
    scanned += held;
    const matching = allOf(base, after, upToKey(sort, direction, keyOf(sort, edge)), data);
    const found = await rows<SortKeyRow>(
      db.pool,
      `SELECT ${keySelect("")} FROM ${db.quoted()} WHERE ${matching.where} ORDER BY ${orderBy(sort, direction)} LIMIT ?`,
      [...matching.params, pageSize + 1 - hits.length],
    );
    hits.push(...found);
    if (hits.length > pageSize || held < window) return { hits, scanned };
    if (scanned >= scanLimit) return { hits, scanned, lastRead: edge };
    after = afterKey(sort, direction, keyOf(sort, edge));
  }
}
