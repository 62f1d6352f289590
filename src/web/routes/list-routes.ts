import type { Hono } from "hono";
import { countMatchingJobs } from "../../queue/job-matches.js";
import { listJobPage } from "../../queue/job-page.js";
import { scopeOf } from "../permissions.js";
import { readListRequest } from "../query/list-query.js";
import type { Redactor } from "../redact.js";
import { renderPage } from "../render.js";
import type { AppEnv, Site, WebContext } from "../site.js";
import { JobsPage } from "../views/jobs-page.js";
import { JobsTable } from "../views/jobs-table.js";
import { JOB_ACTIONS } from "../permissions.js";
import { COUNT_CAP } from "./overview-routes.js";

/**
 * The jobs list and its table alone (the page's refresh, every 5 s while visible). The table
 * costs one statement (the page, queue positions included); the full page adds one capped
 * count. An idle list page therefore costs the database one statement per 5 s.
 */
export function listRoutes(app: Hono<AppEnv>, site: Site, redactor: Redactor): void {
  const read = (c: WebContext) => readListRequest(c.req, c.get("identity"), redactor);
  const selectable = (c: WebContext) => !site.readOnly && Object.values(JOB_ACTIONS).some((permission) => c.get("identity").permissions.has(permission));

  app.get(site.paths.to("/jobs"), async (c) => {
    const identity = c.get("identity");
    const request = read(c);
    const scope = scopeOf(identity);
    const [page, count] = await Promise.all([
      listJobPage(site.db, scope, request.query, request.page),
      countMatchingJobs(site.db, scope, request.query, COUNT_CAP),
    ]);
    return renderPage(
      c,
      site,
      "Jobs",
      "jobs",
      JobsPage({
        params: request.params,
        page,
        after: request.page.after,
        count,
        identity,
        paths: site.paths,
        readOnly: site.readOnly,
        types: site.registry.names(),
      }),
    );
  });

  app.get(site.paths.to("/jobs/rows"), async (c) => {
    const request = read(c);
    const page = await listJobPage(site.db, scopeOf(c.get("identity")), request.query, request.page);
    return c.html(
      JobsTable({
        jobs: page.jobs,
        nextCursor: page.nextCursor,
        scanStopped: page.scanStopped,
        after: request.page.after,
        params: request.params,
        paths: site.paths,
        selectable: selectable(c),
      }),
    );
  });
}
