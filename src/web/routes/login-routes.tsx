import type { Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { clientAddress } from "../identity/client-address.js";
import { sessionCookieOptions } from "../identity/identify.js";
import { permissionsOf, rolesOfUser } from "../identity/identity.js";
import { verifyPassword } from "../identity/password.js";
import { SESSION_COOKIE } from "../identity/session.js";
import { HttpProblem } from "../http-problem.js";
import { nowSeconds, peerAddress, type AppEnv, type Site, type WebContext } from "../site.js";
import { Page } from "../views/layout.js";
import { LoginForm } from "../views/login.js";

/** The built-in users' sign-in (web.users with a passwordHash), rate-limited per client address, and signing out. */
export function loginRoutes(app: Hono<AppEnv>, site: Site): void {
  const web = site.config.web;
  const form = (c: WebContext, props: { next: string; user?: string; problem?: string }, status: 200 | 401 | 429 = 200) =>
    c.html(
      <Page paths={site.paths} nonce={c.get("secureHeadersNonce")} title="Sign in" section="none">
        <LoginForm paths={site.paths} {...props} />
      </Page>,
      status,
    );
  const nextOf = (value: unknown) => (typeof value === "string" && site.paths.owns(value) ? value : site.paths.home);
  const enabled = () => {
    if (!Object.values(web.users).some((user) => user.passwordHash !== undefined))
      throw new HttpProblem(404, "this jobs page has no built-in users (web.users)");
  };

  app.get(site.paths.to("/login"), (c) => {
    enabled();
    return form(c, { next: nextOf(c.req.query("next")) });
  });

  app.post(site.paths.to("/login"), async (c) => {
    enabled();
    const body = await c.req.parseBody();
    const next = nextOf(body.next);
    const user = typeof body.user === "string" ? body.user.slice(0, 191) : "";
    const password = typeof body.password === "string" ? body.password.slice(0, 1024) : "";
    const address = clientAddress(peerAddress(c), c.req.header("x-forwarded-for"), site.proxies);
    const wait = site.logins.waitSeconds(address, nowSeconds(site));
    if (wait > 0) return form(c, { next, user, problem: `too many failed sign-ins from your address: try again in ${Math.ceil(wait / 60)} min` }, 429);
    const stored = Object.hasOwn(web.users, user) ? web.users[user]!.passwordHash : undefined;
    if (!(await verifyPassword(password, stored))) {
      site.logins.fail(address, nowSeconds(site));
      return form(c, { next, user, problem: "wrong user name or password" }, 401);
    }
    site.logins.succeed(address);
    const { permissions } = permissionsOf(web, rolesOfUser(web, user));
    const cookie = site.sessions.issue({ user, permissions, via: "password" }, nowSeconds(site));
    setCookie(c, SESSION_COOKIE, cookie.value, sessionCookieOptions(site, c, cookie.maxAge));
    return c.redirect(next, 303);
  });

  app.post(site.paths.to("/logout"), (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: site.paths.home });
    const canSignIn = Object.values(web.users).some((u) => u.passwordHash !== undefined);
    return canSignIn
      ? c.redirect(site.paths.to("/login"), 303)
      : c.html(
          <Page paths={site.paths} nonce={c.get("secureHeadersNonce")} title="Signed out" section="none">
            <section class="panel">
              <h1>Signed out</h1>
              <p>Open the jobs page from the application to sign in again.</p>
            </section>
          </Page>,
        );
  });
}
