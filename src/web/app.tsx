import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { UsageError } from "../errors.js";
import type { Logger } from "../logger.js";
import { HttpProblem } from "./http-problem.js";
import { identify } from "./identity/identify.js";
import { Redactor } from "./redact.js";
import { actionRoutes } from "./routes/action-routes.js";
import { createRoutes } from "./routes/create-routes.js";
import { exportRoute } from "./routes/export-route.js";
import { jobRoutes } from "./routes/job-routes.js";
import { listRoutes } from "./routes/list-routes.js";
import { loginRoutes } from "./routes/login-routes.js";
import { overviewRoutes } from "./routes/overview-routes.js";
import { staticRoutes } from "./routes/static-routes.js";
import { noStore, securityHeaders } from "./security/headers.js";
import { originCheck, readOnlyGuard } from "./security/origin-check.js";
import { makeSite, type AppEnv, type Site, type SiteOptions } from "./site.js";
import { ProblemPage } from "./views/layout.js";

/** No form of the page sends more (a create form's JSON included); a larger body is refused before it is read. */
const MAX_BODY_BYTES = 256 * 1024;

export interface WebApp {
  /** The whole application: `app.fetch` for the server, `app.request` for tests. */
  app: Hono<AppEnv>;
  site: Site;
}

/**
 * The jobs page: every route under the base path, behind, in this order, the security
 * headers (CSP with a nonce), no-store caching, the static files (before any identity), the
 * body limit, the cross-site check of every POST, the read-only guard, the sign-in form, and
 * the identity every other page needs. Every route builds its URLs from the base path.
 */
export function createWebApp(options: SiteOptions & { logger?: Logger }): WebApp {
  const site = makeSite(options);
  const redactor = new Redactor(site.config.web.redactKeys);
  const logError = (error: unknown) => options.logger?.error(`jobs page: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  const root = new Hono<AppEnv>({ strict: true });
  root.onError((error, c) => {
    const known = error instanceof HttpProblem ? error : error instanceof UsageError ? new HttpProblem(400, error.message) : undefined;
    if (!known) logError(error);
    const status = known?.status ?? 500;
    const message = known?.message ?? "something went wrong on the server (it is in the server's log)";
    return c.html(
      <ProblemPage paths={site.paths} nonce={c.get("secureHeadersNonce")} status={status} message={message} identity={c.get("identity")} />,
      status,
    );
  });
  root.notFound((c) => c.html(<ProblemPage paths={site.paths} nonce={c.get("secureHeadersNonce")} status={404} message="there is no such page here" />, 404));
  root.use("*", securityHeaders(), noStore());
  const base = site.paths.base;
  // The base path without its slash: to the overview (the session cookie's path needs the slash).
  if (base) root.get(base, (c) => c.redirect(site.paths.home, 301));
  // Routes are written with their full paths (site.paths.to), not with Hono's basePath(), so
  // that the overview is exactly `<base>/`, and every middleware below covers only the base.
  const app = root;
  const all = `${base}/*`;
  staticRoutes(app, site);
  app.use(
    all,
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new HttpProblem(413, `a form sends at most ${MAX_BODY_BYTES / 1024} KiB`);
      },
    }),
  );
  app.use(all, originCheck(site.config.web.allowedOrigins), readOnlyGuard(site.readOnly, site.paths));
  loginRoutes(app, site);
  app.use(all, identify(site));
  overviewRoutes(app, site);
  listRoutes(app, site, redactor);
  jobRoutes(app, site, redactor);
  createRoutes(app, site);
  actionRoutes(app, site, redactor);
  exportRoute(app, site, redactor, logError);
  return { app: root, site };
}
