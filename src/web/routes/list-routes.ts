import type { Hono } from "hono";
import { countMatchingJobs } from "../../queue/job-matches.js";
import { listJobPage } from "../../queue/job-page.js";
import { scopeOf } from "../permissions.js";
import { readListRequest } from "../query/list-query.js";
import type { Redactor } from "../redact.js";
import { renderPage } from "../render.js";
import type { AppEnv, Site, WebContext } from "../site.js";
import { JobsPage } from "../views/jobs-page.js";
import { JobRows } from "../views/jobs-page.js";
import { changedSince, drawnNow } from "../refresh.js";
import { JOB_ACTIONS } from "../permissions.js";
import { COUNT_CAP } from "./overview-routes.js";

/**
 * The jobs list and its table alone (the page's refresh, every 5 s while visible). A refresh
 * costs one small statement while nothing changed (refresh.ts), and the page's own statement
 * (queue positions included) when something did; the full page adds one capped count.
 */
export function listRoutes(app: Hono<AppEnv>, site: Site, redactor: Redactor): void {
  const read = (c: WebContext) => readListRequest(c.req, c.get("identity"), redactor);
  const selectable = (c: WebContext) => !site.readOnly && Object.values(JOB_ACTIONS).some((permission) => c.get("identity").permissions.has(permission));

  app.get(site.paths.to("/jobs"), async (c) => {
    const identity = c.get("identity");
    const request = read(c);
    const scope = scopeOf(identity);
    const [page, count, drawn] = await Promise.all([
      listJobPage(site.db, scope, request.query, request.page),
      countMatchingJobs(site.db, scope, request.query, COUNT_CAP),
      drawnNow(site, scope),
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
        drawn,
      }),
    );
  });

  app.get(site.paths.to("/jobs/rows"), async (c) => {
    const request = read(c);
    const scope = scopeOf(c.get("identity"));
    const drawn = await changedSince(site, c, scope);
    if (!drawn) return c.body(null, 204);
    const page = await listJobPage(site.db, scope, request.query, request.page);
    return c.html(
      JobRows({
        drawn,
        table: {
          jobs: page.jobs,
          nextCursor: page.nextCursor,
          scanStopped: page.scanStopped,
          after: request.page.after,
          params: request.params,
          paths: site.paths,
          selectable: selectable(c),
        },
      }),
    );
  });
}
