import { readChangeStamp } from "../queue/change-stamp.js";
import type { JobScope } from "../queue/job-query.js";
import type { Site, WebContext } from "./site.js";

/**
 * A self-refreshing part of a page (the jobs table, the overview) asks first whether anything
 * changed: its URL carries the change stamp it was drawn at (readChangeStamp, one small
 * statement over the active rows) and when; while the stamp is the same the answer is 204 and
 * htmx leaves the part as it is. The stamp cannot see a change to finished jobs alone (a
 * purge, a hand edit), so the part is drawn in full at least once a minute all the same.
 * An idle open page thus costs one small statement per refresh.
 */
export const FULL_REDRAW_MS = 60_000;

export interface Drawn {
  stamp: string;
  /** When it was drawn (the site's clock, ms). */
  at: number;
}

/** The stamp now, or undefined when the part as the browser has it is still current. */
export async function changedSince(site: Site, c: WebContext, scope: JobScope): Promise<Drawn | undefined> {
  const stamp = await readChangeStamp(site.db, scope);
  const at = site.now();
  const given = c.req.query("stamp");
  const drawnAt = Number(c.req.query("at"));
  if (given === stamp && Number.isFinite(drawnAt) && at - drawnAt >= 0 && at - drawnAt < FULL_REDRAW_MS) return undefined;
  return { stamp, at };
}

/** The stamp for a part drawn now (a full page). */
export async function drawnNow(site: Site, scope: JobScope): Promise<Drawn> {
  return { stamp: await readChangeStamp(site.db, scope), at: site.now() };
}
