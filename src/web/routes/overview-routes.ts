import type { Hono } from "hono";
import { readOverview } from "../../queue/overview.js";
import { scopeOf, can } from "../permissions.js";
import { renderPage } from "../render.js";
import type { AppEnv, Site } from "../site.js";
import { OverviewPage, OverviewPanel } from "../views/overview-page.js";

/** Counts stop here ("10,000+"): a table of millions costs no more than one of ten thousand. */
export const COUNT_CAP = 10_000;

export function overviewRoutes(app: Hono<AppEnv>, site: Site): void {
  app.get(site.paths.home, async (c) => {
    const identity = c.get("identity");
    const overview = await readOverview(site.db, scopeOf(identity), { countCap: COUNT_CAP });
    return renderPage(c, site, "Overview", "overview", OverviewPage({ overview, countCap: COUNT_CAP, paths: site.paths, ownOnly: !can(identity, "view_all") }));
  });

  /** The panel alone, for the page's own refresh. */
  app.get(site.paths.to("/overview"), async (c) => {
    const overview = await readOverview(site.db, scopeOf(c.get("identity")), { countCap: COUNT_CAP });
    return c.html(OverviewPanel({ overview, countCap: COUNT_CAP, paths: site.paths }));
  });
}
