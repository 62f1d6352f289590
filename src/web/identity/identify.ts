import { getCookie, setCookie } from "hono/cookie";
import type { MiddlewareHandler } from "hono";
import { forbidden, HttpProblem } from "../http-problem.js";
import { nowSeconds, peerAddress, type AppEnv, type Site, type WebContext } from "../site.js";
import { checkGrant } from "./grant.js";
import { identityConfigured, localIdentity, permissionsOf, rolesOfUser, type Identity } from "./identity.js";
import { SESSION_COOKIE } from "./session.js";
import { grantExchangePage } from "../views/grant-exchange.js";

/**
 * Who makes the request, for every page but the sign-in form and the static files, in this
 * order: a grant in the URL (exchanged for a session cookie), the trusted proxy's header, the
 * session cookie, and, when the config names no identity at all, the anonymous loopback
 * visitor. Nobody: the sign-in form (with built-in users) or 401.
 */
export function identify(site: Site): MiddlewareHandler<AppEnv> {
  const web = site.config.web;
  const anonymous = !identityConfigured(web);
  return async (c, next) => {
    const grant = c.req.query("grant");
    if (grant !== undefined) return exchangeGrant(site, c, grant);
    const identity = fromHeader(site, c) ?? site.sessions.read(getCookie(c, SESSION_COOKIE), nowSeconds(site)) ?? (anonymous ? local(site, c) : undefined);
    if (!identity) return notSignedIn(site, c);
    c.set("identity", identity);
    await next();
  };
}

/** The proxy's header, believed only from the proxies' addresses; from anyone else it is ignored. */
function fromHeader(site: Site, c: WebContext): Identity | undefined {
  const trusted = site.config.web.trustedHeader;
  if (!trusted || !site.proxies.has(peerAddress(c))) return undefined;
  const user = c.req.header(trusted.name)?.trim();
  if (!user) return undefined;
  if (user.length > 191 || /[\u0000-\u001f\u007f]/.test(user)) throw forbidden(`the ${trusted.name} header does not hold a usable user name`);
  const { permissions } = permissionsOf(site.config.web, rolesOfUser(site.config.web, user));
  return { user, permissions, via: "header" };
}

/**
 * The anonymous visitor of a page with no identity configured, which listens on loopback only
 * (open-mode.ts). Two ways a remote browser could still reach it are refused: a proxy in front
 * (it says so in Forwarded / X-Forwarded-For), and DNS rebinding (a hostile site's name
 * pointed at 127.0.0.1, which arrives with that name in Host).
 */
function local(site: Site, c: WebContext): Identity {
  if (c.req.header("forwarded") !== undefined || c.req.header("x-forwarded-for") !== undefined) {
    throw forbidden("this page has no identity configured (web.grantSecret, web.trustedHeader or web.users), so it cannot be served through a proxy");
  }
  const host = (c.req.header("host") ?? "").replace(/:\d+$/, "").toLowerCase();
  if (!["localhost", "127.0.0.1", "[::1]"].includes(host) && !/^127\.\d+\.\d+\.\d+$/.test(host)) {
    throw forbidden(
      `this page has no identity configured, so it answers only to a loopback address (localhost, 127.0.0.1, [::1]), not to "${host.slice(0, 100)}"`,
    );
  }
  return localIdentity(site.config);
}

function notSignedIn(site: Site, c: WebContext): Response | Promise<Response> {
  const canSignIn = Object.values(site.config.web.users).some((user) => user.passwordHash !== undefined);
  if (canSignIn && c.req.method === "GET") {
    const next = c.req.path + (new URL(c.req.url).search || "");
    return c.redirect(site.paths.to("/login", { next }), 303);
  }
  throw new HttpProblem(401, canSignIn ? "you are not signed in" : "you are not signed in: open the jobs page from the application");
}

/** A grant link: checked, used up, and turned into a session cookie; the page then reloads itself without it. */
function exchangeGrant(site: Site, c: WebContext, token: string): Response | Promise<Response> {
  const web = site.config.web;
  if (!web.grantSecret) throw forbidden("this jobs page takes no grant links (web.grantSecret is not set)");
  if (c.req.method !== "GET") throw forbidden("a grant is exchanged by opening its link, not by a form");
  const check = checkGrant(token, web.grantSecret, site.nonces, nowSeconds(site));
  if (!check.ok) throw forbidden(check.reason);
  const { user, roles, permissions } = check.claims;
  let granted: Set<string>;
  if (roles === undefined && permissions === undefined) granted = permissionsOf(web, web.defaultRoles).permissions;
  else {
    const resolved = permissionsOf(web, roles ?? []);
    if (resolved.unknown.length)
      throw forbidden(`the link names role ${resolved.unknown.map((r) => JSON.stringify(r)).join(", ")}, which web.roles does not define`);
    granted = new Set([...resolved.permissions, ...(permissions ?? [])]);
  }
  const cookie = site.sessions.issue({ user, permissions: granted, via: "grant" }, nowSeconds(site));
  setCookie(c, SESSION_COOKIE, cookie.value, sessionCookieOptions(site, c, cookie.maxAge));
  const url = new URL(c.req.url);
  url.searchParams.delete("grant");
  const target = `${c.req.path.replace(/^\/+/, "/")}${url.search}`;
  return c.html(grantExchangePage(site.paths, target), 200);
}

/**
 * HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Path = the
 * base (no other application on the host gets it), Secure when the browser speaks HTTPS
 * (directly, or to the proxy that says so).
 */
export function sessionCookieOptions(site: Site, c: WebContext, maxAge: number) {
  const secure = new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";
  return { httpOnly: true, sameSite: "Strict" as const, path: site.paths.home, secure, maxAge };
}
