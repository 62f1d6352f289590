import { UsageError } from "../errors.js";
import { STATUSES, type JobStatus } from "./admin.js";
import { instantSql } from "./instant.js";

/**
 * The jobs page's filter as SQL: who may see what (JobScope) and what the list asks for
 * (JobQuery). Every value reaches the statement as a parameter; the one thing spliced is the
 * JSON path of a dataField filter, whose name is checked against PLAIN_KEY first.
 *
 * Users and types compare byte for byte (CAST … AS BINARY, beside a plain `=` that lets the
 * index find the candidates): the table's collation is utf8mb4_unicode_ci, under which
 * "alice", "ALICE", "alicé" and "alice " are all equal, and a scope that compared that way
 * would show one user another's jobs.
 */

/** Whose jobs a request may see: undefined = everyone's (view_all); a string = only rows whose user equals it. */
export interface JobScope {
  owner?: string;
}

/** The list's filter (the tab is `status`; undefined = All). Every field optional. */
export interface JobQuery {
  status?: JobStatus;
  types?: string[];
  user?: string;
  /** locked_by's host part (locked_by is "host:pid"): jobs that ran, or run, on this host. */
  host?: string;
  createdFrom?: Date;
  createdTo?: Date;
  ref?: number;
  /** job_data parsed as a JSON object whose top-level `name` equals `value` (compared as text). */
  dataField?: { name: string; value: string };
}

/** A key a dataField filter may name: what fits in a quoted JSON path with no escaping. */
const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const MAX_TYPES = 100;
const MAX_TEXT = 191;
const MAX_VALUE = 1000;

export interface SqlCondition {
  /** Conditions joined with AND; "1" when there are none. */
  where: string;
  params: unknown[];
}

/** `column` equal to `value`, byte for byte (see the top of this file). */
function exactly(column: string, value: string, where: string[], params: unknown[]): void {
  where.push(`${column} = ? AND CAST(${column} AS BINARY) = CAST(? AS BINARY)`);
  params.push(value, value);
}

function checkText(what: string, value: string, max = MAX_TEXT): void {
  if (typeof value !== "string") throw new UsageError(`${what} must be text`);
  if (value.length > max) throw new UsageError(`${what} is longer than ${max} characters`);
}

function instant(what: string, value: Date): { sql: string; params: unknown[] } {
  if (!(value instanceof Date) || !Number.isFinite(value.getTime())) throw new UsageError(`${what} is not a valid date`);
  return instantSql(value);
}

/** The JSON path of a dataField name, after checking that it is a plain key. */
export function dataFieldPath(name: string): string {
  if (typeof name !== "string" || !PLAIN_KEY.test(name)) {
    throw new UsageError(
      `the job_data field name must be 1 to 64 letters, digits, "_", "." or "-" (a plain JSON key), not ${JSON.stringify(String(name).slice(0, 80))}`,
    );
  }
  return `$."${name}"`;
}

/** The dataField condition on its own (it is the one that reads job_data, so callers bound the rows it sees). */
export function dataFieldCondition(query: JobQuery): SqlCondition | undefined {
  if (!query.dataField) return undefined;
  const { name, value } = query.dataField;
  const path = dataFieldPath(name);
  checkText("the job_data field value", value, MAX_VALUE);
  return { where: "CAST(JSON_UNQUOTE(JSON_EXTRACT(job_data, ?)) AS BINARY) = CAST(? AS BINARY)", params: [path, value] };
}

/** The scope and every filter but dataField, checked: a value that cannot be asked for throws a UsageError. */
export function matchCondition(scope: JobScope, query: JobQuery): SqlCondition {
  const where: string[] = [];
  const params: unknown[] = [];
  if (scope.owner !== undefined) {
    checkText("the scope's user", scope.owner);
    exactly("user", scope.owner, where, params);
  }
  if (query.status !== undefined) {
    if (!STATUSES.includes(query.status)) throw new UsageError(`status must be one of ${STATUSES.join(", ")}`);
    where.push("status = ?");
    params.push(query.status);
  }
  if (query.types !== undefined && query.types.length > 0) {
    if (query.types.length > MAX_TYPES) throw new UsageError(`at most ${MAX_TYPES} types may be asked for at once`);
    for (const type of query.types) checkText("a type", type, 64);
    where.push("type IN (?) AND CAST(type AS BINARY) IN (?)");
    params.push(
      query.types,
      query.types.map((type) => Buffer.from(type, "utf8")),
    );
  }
  if (query.user !== undefined) {
    checkText("the user", query.user);
    exactly("user", query.user, where, params);
  }
  if (query.host !== undefined) {
    checkText("the host", query.host, 100);
    if (query.host === "") throw new UsageError("the host must not be empty");
    // The host part is everything before the last colon (a host name may hold one).
    where.push(
      "locked_by LIKE CONCAT(?, ':%') AND CAST(SUBSTRING(locked_by, 1, CHAR_LENGTH(locked_by) - CHAR_LENGTH(SUBSTRING_INDEX(locked_by, ':', -1)) - 1) AS BINARY) = CAST(? AS BINARY)",
    );
    params.push(
      query.host.replace(/[\\%_]/g, (c) => `\\${c}`),
      query.host,
    );
  }
  if (query.createdFrom !== undefined) {
    const from = instant("the created-from date", query.createdFrom);
    where.push(`created_at >= ${from.sql}`);
    params.push(...from.params);
  }
  if (query.createdTo !== undefined) {
    const to = instant("the created-to date", query.createdTo);
    where.push(`created_at <= ${to.sql}`);
    params.push(...to.params);
  }
  if (query.ref !== undefined) {
    if (!Number.isSafeInteger(query.ref) || query.ref < 1) throw new UsageError("the ref must be a whole number of 1 or more");
    where.push("ref = ?");
    params.push(query.ref);
  }
  return { where: where.length ? where.join(" AND ") : "1", params };
}

/** The conditions joined with AND (undefined ones and "1" left out). */
export function allOf(...conditions: Array<SqlCondition | undefined>): SqlCondition {
  const present = conditions.filter((c): c is SqlCondition => c !== undefined && c.where !== "1");
  return { where: present.length ? present.map((c) => c.where).join(" AND ") : "1", params: present.flatMap((c) => c.params) };
}

/** Every condition of the query, dataField included. */
export function fullCondition(scope: JobScope, query: JobQuery): SqlCondition {
  const base = matchCondition(scope, query);
  const data = dataFieldCondition(query);
  if (!data) return base;
  return { where: `${base.where} AND ${data.where}`, params: [...base.params, ...data.params] };
}
