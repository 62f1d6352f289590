import { STATUSES, type JobStatus } from "../../queue/admin.js";
import type { JobQuery } from "../../queue/job-query.js";
import type { JobSort, PageRequest } from "../../queue/job-page.js";
import type { Identity } from "../identity/identity.js";
import { badRequest, forbidden } from "../http-problem.js";
import { can } from "../permissions.js";
import type { Redactor } from "../redact.js";

/**
 * The jobs list's address bar: tab, filters, sort, page size and cursor, read with bounds so
 * that no request can ask for a slow query, and each bad value is a 400 that says which and
 * why. The same parameters drive the table, its refresh, the export and "act on everything
 * matching", so that each acts on exactly what the person saw.
 */
export const TABS = ["all", ...STATUSES] as const;
export type Tab = (typeof TABS)[number];

export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_TEXT = 200;
export const MAX_RANGE_DAYS = 366;
const SORTS: readonly JobSort[] = ["created", "priority", "ref"];
/** What a job_data filter may name: a top-level key written plainly (no quoting needed in a JSON path). */
const FIELD_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** The parameters as given (every one text), for links that keep them. */
export interface ListParams {
  tab: Tab;
  type: string[];
  user: string;
  host: string;
  from: string;
  to: string;
  ref: string;
  field: string;
  value: string;
  sort: JobSort;
  dir: "asc" | "desc";
  size: number;
}

export interface ListRequest {
  params: ListParams;
  query: JobQuery;
  page: PageRequest;
}

type Reader = { query(name: string): string | undefined; queries(name: string): string[] | undefined };

function text(name: string, value: string | undefined, label: string): string {
  const trimmed = (value ?? "").trim();
  if (trimmed.length > MAX_TEXT) throw badRequest(`the ${label} filter is longer than ${MAX_TEXT} characters`);
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw badRequest(`the ${label} filter holds a control character`);
  return trimmed;
}

/** "YYYY-MM-DD" as the start of that day on this host's clock; `end`: the start of the next day. */
function day(value: string, label: string, end: boolean): Date | undefined {
  if (value === "") return undefined;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const [year, month, date] = match ? [Number(match[1]), Number(match[2]) - 1, Number(match[3])] : [0, 0, 0];
  const start = new Date(year, month, date);
  if (!match || year < 1970 || start.getFullYear() !== year || start.getMonth() !== month || start.getDate() !== date) {
    throw badRequest(`the ${label} date must be a day written YYYY-MM-DD`);
  }
  return end ? new Date(year, month, date + 1) : start;
}

/** Reads and bounds the list's parameters (the export, the counts and the bulk actions use the filter part alone). */
export function readListRequest(reader: Reader, identity: Identity, redactor: Redactor): ListRequest {
  const tab = (reader.query("tab") ?? "all") as Tab;
  if (!TABS.includes(tab)) throw badRequest(`the tab must be one of ${TABS.join(", ")}`);
  const types = (reader.queries("type") ?? []).map((t) => text("type", t, "type")).filter(Boolean);
  if (types.length > 50) throw badRequest("at most 50 types can be filtered on at once");
  const user = text("user", reader.query("user"), "user");
  if (user && !can(identity, "view_all")) throw forbidden("filtering by user needs the view_all permission (you see only your own jobs)");
  const host = text("host", reader.query("host"), "host");
  const from = text("from", reader.query("from"), "from");
  const to = text("to", reader.query("to"), "to");
  const createdFrom = day(from, "from", false);
  const createdTo = day(to, "to", true);
  if (createdFrom && createdTo) {
    if (createdTo <= createdFrom) throw badRequest("the from date must not be after the to date");
    if (createdTo.getTime() - createdFrom.getTime() > (MAX_RANGE_DAYS + 1) * 86_400_000) throw badRequest(`a date range spans at most ${MAX_RANGE_DAYS} days`);
  }
  const ref = text("ref", reader.query("ref"), "ref");
  if (ref && (!/^\d{1,16}$/.test(ref) || !Number.isSafeInteger(Number(ref)) || Number(ref) < 1)) throw badRequest("the ref filter is a job's ref: digits only");
  const field = text("field", reader.query("field"), "job_data field");
  const value = text("value", reader.query("value"), "job_data value");
  if (field && !FIELD_NAME.test(field)) throw badRequest("a job_data field is a top-level key of letters, digits, _ . - (at most 64)");
  if (field && redactor.hides(field)) throw forbidden(`job_data field "${field}" is redacted (web.redactKeys), so it cannot be filtered on`);
  if (value && !field) throw badRequest("a job_data value needs the field it is the value of");
  const sort = (reader.query("sort") ?? "created") as JobSort;
  if (!SORTS.includes(sort)) throw badRequest(`the sort must be one of ${SORTS.join(", ")}`);
  const dir = reader.query("dir") ?? (sort === "priority" ? "asc" : "desc");
  if (dir !== "asc" && dir !== "desc") throw badRequest("the direction must be asc or desc");
  const sizeText = reader.query("size") ?? String(DEFAULT_PAGE_SIZE);
  if (!/^\d{1,4}$/.test(sizeText) || Number(sizeText) < 1 || Number(sizeText) > MAX_PAGE_SIZE)
    throw badRequest(`the page size is a whole number from 1 to ${MAX_PAGE_SIZE}`);
  const after = reader.query("after");
  if (after !== undefined && (after.length > 500 || !/^[A-Za-z0-9_=.:-]+$/.test(after)))
    throw badRequest("the page cursor is not one this page made: go back to the first page");
  const query: JobQuery = {
    status: tab === "all" ? undefined : (tab as JobStatus),
    types: types.length ? types : undefined,
    user: user || undefined,
    host: host || undefined,
    createdFrom,
    createdTo,
    ref: ref ? Number(ref) : undefined,
    dataField: field ? { name: field, value } : undefined,
  };
  return {
    params: { tab, type: types, user, host, from, to, ref, field, value, sort, dir, size: Number(sizeText) },
    query,
    page: { sort, direction: dir, pageSize: Number(sizeText), after: after || undefined },
  };
}

/** The parameters as a query string's pairs (defaults left out), with `changes` over them. */
export function listSearch(
  params: ListParams,
  changes: Partial<Record<keyof ListParams | "after" | "stamp" | "at", string | number | string[] | undefined>> = {},
): URLSearchParams {
  const merged: Record<string, unknown> = { ...params, ...changes };
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(merged)) {
    if (value === undefined || value === "" || (key === "tab" && value === "all") || (key === "size" && value === DEFAULT_PAGE_SIZE)) continue;
    if (key === "sort" && value === "created" && merged.dir === "desc") continue;
    if (key === "dir" && ((merged.sort === "created" && value === "desc") || (merged.sort === "priority" && value === "asc"))) continue;
    for (const each of Array.isArray(value) ? value : [value]) search.append(key, String(each));
  }
  return search;
}
