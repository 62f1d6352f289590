import type { Child } from "hono/jsx";
import { raw } from "hono/html";
import type { Identity } from "../identity/identity.js";
import type { Paths } from "../paths.js";
import { assetName } from "../static-assets.js";

/**
 * htmx's settings for this page (read from the meta tag at load): no eval (hx-on and trigger
 * filters stay off, and the CSP forbids eval anyway), no running of <script> tags in swapped
 * content, no indicator <style> element (the CSP allows only our stylesheet), requests to this
 * origin only, and no page snapshots in localStorage (they would hold job data).
 */
const HTMX_CONFIG = JSON.stringify({
  allowEval: false,
  allowScriptTags: false,
  includeIndicatorStyles: false,
  selfRequestsOnly: true,
  historyCacheSize: 0,
  refreshOnHistoryMiss: true,
});

export type Section = "overview" | "jobs" | "new" | "none";

export interface PageProps {
  paths: Paths;
  nonce: string | undefined;
  title: string;
  identity?: Identity;
  section?: Section;
  /** Whether the nav offers "New job" (the user may create some type). */
  canCreate?: boolean;
  readOnly?: boolean;
  children?: Child;
}

export function Page(props: PageProps) {
  const { paths, nonce, identity } = props;
  const link = (section: Section, href: string, label: string) => (
    <a href={href} class={props.section === section ? "current" : undefined} aria-current={props.section === section ? "page" : undefined}>
      {label}
    </a>
  );
  return (
    <>
      {raw("<!doctype html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="referrer" content="same-origin" />
          <meta name="htmx-config" content={HTMX_CONFIG} />
          <title>{props.title} · offline-jobs</title>
          <link rel="icon" href="data:," />
          <link rel="stylesheet" href={paths.to(`/static/${assetName("app.css")}`)} />
          <link rel="stylesheet" href={paths.to(`/static/${assetName("views.css")}`)} />
          <script nonce={nonce} src={paths.to(`/static/${assetName("htmx.min.js")}`)} defer></script>
          <script nonce={nonce} src={paths.to(`/static/${assetName("app.js")}`)} defer></script>
        </head>
        <body>
          <header class="top">
            <a class="brand" href={paths.home}>
              offline-jobs
            </a>
            {identity && (
              <nav>
                {link("overview", paths.home, "Overview")}
                {link("jobs", paths.to("/jobs"), "Jobs")}
                {props.canCreate && !props.readOnly && link("new", paths.to("/new"), "New job")}
              </nav>
            )}
            {identity && (
              <div class="who">
                <span class="user">{identity.user}</span>
                {props.readOnly && <span class="badge">read-only</span>}
                {(identity.via === "password" || identity.via === "grant") && (
                  <form method="post" action={paths.to("/logout")}>
                    <button type="submit" class="link">
                      Sign out
                    </button>
                  </form>
                )}
              </div>
            )}
          </header>
          <main>{props.children}</main>
        </body>
      </html>
    </>
  );
}

/** A refusal or an error, in a page of its own. */
export function ProblemPage(props: { paths: Paths; nonce: string | undefined; status: number; message: string; identity?: Identity }) {
  const titles: Record<number, string> = { 400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found", 429: "Too many attempts" };
  const title = titles[props.status] ?? "Error";
  return (
    <Page paths={props.paths} nonce={props.nonce} title={title} identity={props.identity} section="none">
      <section class="problem">
        <h1>{title}</h1>
        <p class="message">{props.message}</p>
        <p>
          <a href={props.paths.home}>Back to the overview</a>
        </p>
      </section>
    </Page>
  );
}
