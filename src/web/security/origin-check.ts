import type { MiddlewareHandler } from "hono";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { HttpProblem } from "../http-problem.js";
import type { AppEnv } from "../site.js";

/**
 * Every change is a POST from one of our own forms, refused when it comes from another site.
 * hono's csrf() accepts a POST whose Sec-Fetch-Site is same-origin or whose Origin is ours or
 * in web.allowedOrigins (the origin browsers see through a proxy); but it looks only at the
 * content types an HTML form can send cross-site, so this first refuses every other content
 * type (the page's forms send only those), leaving no POST it does not check.
 */
const FORM_TYPES = /^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i;

export function originCheck(allowedOrigins: readonly string[]): MiddlewareHandler<AppEnv> {
  const check = csrf({
    origin: (origin, c) => origin === new URL(c.req.url).origin || allowedOrigins.includes(origin),
    secFetchSite: "same-origin",
  });
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    if (c.req.method !== "POST") throw new HttpProblem(400, `this page takes GET and POST only, not ${c.req.method.slice(0, 20)}`);
    if (!FORM_TYPES.test(c.req.header("content-type") ?? "")) throw new HttpProblem(415, "a change is sent by one of this page's forms");
    try {
      return await check(c, next);
    } catch (error) {
      if (error instanceof HTTPException && error.status === 403) {
        throw new HttpProblem(403, "this request came from another site (its Origin / Sec-Fetch-Site is not this page's): refused");
      }
      throw error;
    }
  };
}

/** Read-only deployments (web.readOnly, --read-only) refuse every change; signing in and out still work. */
export function readOnlyGuard(readOnly: boolean, paths: { to(path: string): string }): MiddlewareHandler<AppEnv> {
  const allowed = new Set([paths.to("/login"), paths.to("/logout")]);
  return async (c, next) => {
    if (readOnly && c.req.method === "POST" && !allowed.has(c.req.path)) {
      throw new HttpProblem(403, "this jobs page is read-only (web.readOnly or --read-only): nothing can be changed here");
    }
    return next();
  };
}
