import type { Hono } from "hono";
import { readOverview } from "../../queue/overview.js";
import { scopeOf, can } from "../permissions.js";
import { renderPage } from "../render.js";
import type { AppEnv, Site } from "../site.js";
import { changedSince, drawnNow } from "../refresh.js";
import { OverviewFrame, OverviewPage } from "../views/overview-page.js";

/** Counts stop here ("10,000+"): a table of millions costs no more than one of ten thousand. */
export const COUNT_CAP = 10_000;

export function overviewRoutes(app: Hono<AppEnv>, site: Site): void {
  app.get(site.paths.home, async (c) => {
    const identity = c.get("identity");
    const scope = scopeOf(identity);
    const [overview, drawn] = await Promise.all([readOverview(site.db, scope, { countCap: COUNT_CAP }), drawnNow(site, scope)]);
    return renderPage(
      c,
      site,
      "Overview",
      "overview",
      OverviewPage({ overview, countCap: COUNT_CAP, paths: site.paths, ownOnly: !can(identity, "view_all"), drawn }),
    );
  });

  /** The panel alone, for the page's own refresh: 204 while nothing changed (refresh.ts). */
  app.get(site.paths.to("/overview"), async (c) => {
    const scope = scopeOf(c.get("identity"));
    const drawn = await changedSince(site, c, scope);
    if (!drawn) return c.body(null, 204);
    const overview = await readOverview(site.db, scope, { countCap: COUNT_CAP });
    return c.html(OverviewFrame({ overview, countCap: COUNT_CAP, paths: site.paths, drawn }));
  });
}
