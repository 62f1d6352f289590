import type { Hono } from "hono";
import { PURGEABLE, purgeJobs } from "../../queue/cleanup.js";
import { clearInactiveFor } from "../../queue/job-actions.js";
import { countMatchingJobs } from "../../queue/job-matches.js";
import { listJobPage } from "../../queue/job-page.js";
import { applyAction, type ActionOutcome } from "../actions/apply-action.js";
import { jobsByRef } from "../actions/job-access.js";
import { readForm, type FormFields } from "../form-body.js";
import { badRequest, forbidden } from "../http-problem.js";
import { can, isJobAction, JOB_ACTIONS, scopeOf, whyNotAct, whyNotPurge, type JobAction } from "../permissions.js";
import { listSearch, MAX_PAGE_SIZE, readListRequest } from "../query/list-query.js";
import type { Redactor } from "../redact.js";
import { renderPage } from "../render.js";
import type { AppEnv, Site, WebContext } from "../site.js";
import { ActionResult, ConfirmAction, DeletedCount } from "../views/action-pages.js";
import { parseRef } from "./job-routes.js";

/** "Everything matching" handles at most this many jobs per confirmation (a page of refs at a time). */
export const BULK_LIMIT = 10_000;
/** …and reads at most this many pages for it (a job_data filter's pages may come back short). */
const BULK_PAGES = 200;

/**
 * The actions: on ticked jobs (POST /actions), on everything matching the filter after a
 * confirmation that shows how many (GET /actions/confirm, then POST /actions/all), purge and
 * clear. Every job is checked on its own, here on the server: in the user's scope, and the
 * permission the action (and, for a cancel, the job's type) needs.
 */
export function actionRoutes(app: Hono<AppEnv>, site: Site, redactor: Redactor): void {
  const backOf = (fields: FormFields) => {
    const back = fields.query("back");
    return back !== undefined && site.paths.owns(back) ? back : site.paths.to("/jobs");
  };
  const actionOf = (value: string | undefined): JobAction => {
    if (value === undefined || !isJobAction(value)) throw badRequest(`the action must be one of ${Object.keys(JOB_ACTIONS).join(", ")}`);
    return value;
  };
  const mayAtAll = (c: WebContext, action: JobAction) => {
    if (!can(c.get("identity"), JOB_ACTIONS[action])) throw forbidden(`this needs the permission ${JOB_ACTIONS[action]}`);
  };

  app.post(site.paths.to("/actions"), async (c) => {
    const identity = c.get("identity");
    const fields = await readForm(c);
    const action = actionOf(fields.query("action"));
    const refs = (fields.queries("ref") ?? []).map((text) => parseRef(text));
    if (refs.length === 0) throw badRequest("tick at least one job first");
    if (refs.length > MAX_PAGE_SIZE) throw badRequest(`at most ${MAX_PAGE_SIZE} jobs can be ticked at once; use "all matching" for more`);
    mayAtAll(c, action);
    const scope = scopeOf(identity);
    const jobs = await jobsByRef(site.db, scope, refs);
    for (const ref of refs) {
      const job = jobs.get(ref);
      if (!job) throw forbidden(`job ${ref} does not exist or is not yours`);
      const why = whyNotAct(identity, action, job, site.config);
      if (why) throw forbidden(`${why}; nothing was done`);
    }
    const outcome = await applyAction(site.db, site.config, identity, scope, action, refs);
    // A deleted job's own page is gone: back to the list instead.
    const back = action === "delete" && backOf(fields).startsWith(site.paths.to("/job/")) ? site.paths.to("/jobs") : backOf(fields);
    if (outcome.skipped.length === 0 && refs.length === 1) return c.redirect(back, 303);
    return renderPage(c, site, "Done", "jobs", ActionResult({ action, outcome, back, paths: site.paths }));
  });

  app.get(site.paths.to("/actions/confirm"), async (c) => {
    const identity = c.get("identity");
    const action = actionOf(c.req.query("action"));
    mayAtAll(c, action);
    const request = readListRequest(c.req, identity, redactor);
    const count = await countMatchingJobs(site.db, scopeOf(identity), request.query, BULK_LIMIT);
    const filter = listSearch(request.params);
    return renderPage(
      c,
      site,
      "Confirm",
      "jobs",
      ConfirmAction({ action, count, filter, back: site.paths.to("/jobs", filter), paths: site.paths, limit: BULK_LIMIT }),
    );
  });

  app.post(site.paths.to("/actions/all"), async (c) => {
    const identity = c.get("identity");
    const fields = await readForm(c);
    const action = actionOf(fields.query("action"));
    mayAtAll(c, action);
    const request = readListRequest(fields, identity, redactor);
    const scope = scopeOf(identity);
    const total: ActionOutcome = { done: [], stopping: [], unchanged: [], skipped: [] };
    const refused = new Map<string, number>();
    let seen = 0;
    let after: string | undefined;
    let pages = 0;
    let stoppedEarly: string | undefined;
    for (;;) {
      const page = await listJobPage(site.db, scope, request.query, { sort: "ref", direction: "asc", pageSize: MAX_PAGE_SIZE, after });
      const jobs = page.jobs.slice(0, BULK_LIMIT - seen);
      seen += jobs.length;
      const allowed: number[] = [];
      for (const job of jobs) {
        const why = whyNotAct(identity, action, job, site.config)?.replace(/job \d+/, "a job");
        if (why) refused.set(why, (refused.get(why) ?? 0) + 1);
        else allowed.push(job.ref);
      }
      const outcome = await applyAction(site.db, site.config, identity, scope, action, allowed);
      total.done.push(...outcome.done);
      total.stopping.push(...outcome.stopping);
      total.unchanged.push(...outcome.unchanged);
      total.skipped.push(...outcome.skipped);
      after = page.nextCursor ?? undefined;
      if (!after) break;
      if (seen >= BULK_LIMIT || ++pages >= BULK_PAGES) {
        stoppedEarly = `Stopped after ${seen.toLocaleString("en-US")} jobs (at most ${BULK_LIMIT.toLocaleString("en-US")} at a time): do it again for the rest.`;
        break;
      }
    }
    return renderPage(c, site, "Done", "jobs", ActionResult({ action, outcome: total, refused, stoppedEarly, back: backOf(fields), paths: site.paths }));
  });

  app.post(site.paths.to("/purge"), async (c) => {
    const identity = c.get("identity");
    const why = whyNotPurge(identity);
    if (why) throw forbidden(why);
    const days = (await readForm(c)).query("days") ?? "";
    if (!/^\d{1,5}(\.\d{1,3})?$/.test(days)) throw badRequest("the age is a number of days (0 or more), e.g. 30");
    const deleted = await purgeJobs(site.db, { olderThanDays: Number(days), statuses: PURGEABLE });
    return renderPage(
      c,
      site,
      "Purged",
      "jobs",
      DeletedCount({ title: "Purged", deleted, what: `finished job(s) older than ${days} day(s)`, back: site.paths.to("/jobs") }),
    );
  });

  app.post(site.paths.to("/clear"), async (c) => {
    const identity = c.get("identity");
    if (!can(identity, "clear")) throw forbidden("clearing inactive jobs needs the permission clear");
    const fields = await readForm(c);
    const includeCommandLine = fields.query("cli") === "1";
    if (includeCommandLine && !can(identity, "view_all")) throw forbidden("clearing the command line's jobs needs the permission view_all");
    const deleted = await clearInactiveFor(site.db, { user: identity.user, includeCommandLine });
    const what = `finished job(s) of ${identity.user}${includeCommandLine ? " and of the command line (cli:…)" : ""}`;
    return renderPage(c, site, "Cleared", "jobs", DeletedCount({ title: "Cleared", deleted, what, back: site.paths.to("/jobs") }));
  });
}
