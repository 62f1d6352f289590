import { raw } from "hono/html";
import type { Paths } from "../paths.js";

/**
 * What a grant link answers once its cookie is set: a page that reloads the same address
 * without the grant. Not a redirect: after a link from another site, a browser keeps a
 * SameSite=Strict cookie off every request of that navigation, redirects included, and the
 * page would say "not signed in"; a navigation this page starts itself is same-site. No
 * script either (a meta refresh, plus a link).
 */
export function grantExchangePage(paths: Paths, target: string) {
  const safe = paths.owns(target) || target === paths.base ? target : paths.home;
  return (
    <>
      {raw("<!doctype html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="referrer" content="no-referrer" />
          <link rel="icon" href="data:," />
          <meta http-equiv="refresh" content={`0; url=${safe}`} />
          <title>Signing in · offline-jobs</title>
        </head>
        <body>
          <p>
            Signed in. <a href={safe}>Continue to the jobs page</a>.
          </p>
        </body>
      </html>
    </>
  );
}
