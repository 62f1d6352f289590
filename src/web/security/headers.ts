import type { MiddlewareHandler } from "hono";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../site.js";

/**
 * The headers of every answer. The page shows text other programs wrote (job_data, logs,
 * errors), so the Content-Security-Policy assumes an injection got through anyway: scripts
 * only with this response's nonce (htmx and app.js), styles only from our stylesheet (no
 * inline style, no style attribute), images from us or data: (none so far), requests and
 * forms only to us, no framing, no <base>.
 *
 * Referrer-Policy is same-origin, not no-referrer: under no-referrer a browser sends
 * `Origin: null` with a form's POST, and the cross-site check (origin-check.ts) needs the real
 * one from browsers that send no Sec-Fetch-Site. HSTS is left to the proxy that terminates
 * TLS: sent from here over plain HTTP it means nothing, and includeSubDomains on a shared
 * intranet domain would reach other hosts' sites.
 */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: [NONCE],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    strictTransportSecurity: false,
    xFrameOptions: "DENY",
    referrerPolicy: "same-origin",
    crossOriginResourcePolicy: "same-origin",
    crossOriginOpenerPolicy: "same-origin",
  });
}

/**
 * Pages and fragments hold job data: no cache keeps them (a shared proxy, the browser's back
 * button after signing out). The static files set their own long caching.
 */
export function noStore(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
  };
}
