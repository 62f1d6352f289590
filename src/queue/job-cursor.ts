import { UsageError } from "../errors.js";
import type { SqlCondition } from "./job-query.js";

/**
 * Keyset pagination of the jobs page: the sorts, their ORDER BY, and the opaque cursor that
 * carries the last row's sort key to the next request. Every sort ends in ref, which is
 * unique, so rows that tie on created_at or priority are neither skipped nor repeated; the
 * next page is "after this key" (a range the index seeks to), never an OFFSET that reads and
 * throws away every row before it.
 */

export type JobSort = "created" | "priority" | "ref";
export type SortDirection = "asc" | "desc";

/** The columns each sort orders by before ref. */
const SORT_COLUMNS: Record<JobSort, Array<"created_at" | "priority">> = {
  created: ["created_at"],
  priority: ["priority"],
  ref: [],
};

/** A row's sort key as the statements return it: created_at as the server's text, ref as text (it may pass 2^53). */
export interface SortKeyRow {
  created_at: string;
  priority: number;
  ref_text: string;
}

export function checkSort(sort: JobSort, direction: SortDirection): void {
  if (!Object.hasOwn(SORT_COLUMNS, sort)) throw new UsageError(`sort must be one of ${Object.keys(SORT_COLUMNS).join(", ")}`);
  if (direction !== "asc" && direction !== "desc") throw new UsageError('direction must be "asc" or "desc"');
}

/** ORDER BY for the sort, columns prefixed with `prefix` (e.g. "page."). */
export function orderBy(sort: JobSort, direction: SortDirection, prefix = ""): string {
  const dir = direction === "asc" ? "ASC" : "DESC";
  return [...SORT_COLUMNS[sort], "ref"].map((column) => `${prefix}${column} ${dir}`).join(", ");
}

/** The condition "after this key" in the sort's order: (a, ref) > (?, ?) spelt out, which the range optimizer reads. */
export function afterKey(sort: JobSort, direction: SortDirection, key: unknown[]): SqlCondition {
  const op = direction === "asc" ? ">" : "<";
  const [column] = SORT_COLUMNS[sort];
  // A BigInt is written as a bare number: a quoted ref would be compared as a double.
  const ref = BigInt(String(key[key.length - 1]));
  if (!column) return { where: `ref ${op} ?`, params: [ref] };
  return { where: `(${column} ${op} ? OR (${column} = ? AND ref ${op} ?))`, params: [key[0], key[0], ref] };
}

/** The condition "at or before this key" in the sort's order: the rows up to and including it. */
export function upToKey(sort: JobSort, direction: SortDirection, key: unknown[]): SqlCondition {
  const op = direction === "asc" ? "<" : ">";
  const [column] = SORT_COLUMNS[sort];
  const ref = BigInt(String(key[key.length - 1]));
  if (!column) return { where: `ref ${op}= ?`, params: [ref] };
  return { where: `(${column} ${op} ? OR (${column} = ? AND ref ${op}= ?))`, params: [key[0], key[0], ref] };
}

/** The columns the sort orders by before ref. */
export function sortColumns(sort: JobSort): string[] {
  return [...SORT_COLUMNS[sort]];
}

/** The key of a row, in the order afterKey takes it. */
export function keyOf(sort: JobSort, row: SortKeyRow): unknown[] {
  return [...SORT_COLUMNS[sort].map((column) => (column === "priority" ? Number(row.priority) : row.created_at)), row.ref_text];
}

export function encodeCursor(sort: JobSort, direction: SortDirection, key: unknown[]): string {
  return Buffer.from(JSON.stringify([sort, direction, ...key]), "utf8").toString("base64url");
}

const DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$/;
const REF = /^[1-9]\d{0,19}$/;
const MAX_REF = 18446744073709551615n;
const MAX_CURSOR = 200;

/** The key a cursor carries, checked against the sort it was made for; anything else is a UsageError. */
export function decodeCursor(cursor: string, sort: JobSort, direction: SortDirection): unknown[] {
  const invalid = () => new UsageError("the page cursor is not valid (changed or from another list): start again from the first page");
  if (typeof cursor !== "string" || cursor.length > MAX_CURSOR || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  const columns = SORT_COLUMNS[sort];
  if (!Array.isArray(parsed) || parsed.length !== columns.length + 3) throw invalid();
  const [madeFor, madeDirection, ...key] = parsed as unknown[];
  if (madeFor !== sort || madeDirection !== direction) {
    throw new UsageError("the page cursor belongs to another sort order: start again from the first page");
  }
  columns.forEach((column, i) => {
    const value = key[i];
    if (column === "priority" && !(Number.isInteger(value) && (value as number) >= -32768 && (value as number) <= 32767)) throw invalid();
    if (column === "created_at" && !(typeof value === "string" && DATETIME.test(value))) throw invalid();
  });
  const ref = key[columns.length];
  if (typeof ref !== "string" || !REF.test(ref) || BigInt(ref) > MAX_REF) throw invalid();
  return key;
}
