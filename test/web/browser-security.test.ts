import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { makeGrant } from "../../src/web/identity/grant.js";
import { useBrowserSite, waitForText } from "./browser-harness.js";

/**
 * The page in chromium against hostile input: a signed link signs in (the page reloads itself
 * past SameSite=Strict), a job whose every column holds markup, handlers, `javascript:` links
 * and htmx attributes shows them as text with no script run, and a form on another site that
 * POSTs to the page is refused.
 */

const SECRET = "browser-test-secret-browser-test-secret-0123";
const site = useBrowserSite("oj-browser-security-", () => ({
  web: { localAdmin: false, grantSecret: SECRET, roles: { admin: ["view_all", "cancel_job", "retry", "boost", "delete", "export"] } },
}));

const HOSTILE =
  '<script>window.pwned=1;alert(1)</script><img src=x onerror="window.pwned=2;alert(2)"><a href="javascript:window.pwned=3">x</a>' +
  '<div hx-get="/jobs/export.csv" hx-trigger="load" hx-target="body" id="hx-hostile">y</div><svg onload="window.pwned=4"></svg>';

let attacker: http.Server | undefined;
after(() => attacker?.close());

async function signIn(page: import("playwright-core").Page, user: string): Promise<void> {
  const grant = makeGrant({ user, roles: ["admin"], exp: Math.floor(Date.now() / 1000) + 60, nonce: `browser-${user}-${Date.now()}` }, SECRET);
  await page.goto(`${site.url}/jobs?tab=failed&grant=${grant}`);
  await page.waitForURL(/\/jobs\/jobs\?tab=failed$/);
  await waitForText(page, "header .user", user);
}

test("a signed link signs in and lands where it pointed, without the grant in the address", async () => {
  const { context, page, problems } = await site.open();
  try {
    await signIn(page, "alice");
    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === "oj_session");
    assert.ok(session?.httpOnly && session.sameSite === "Strict" && session.path === "/jobs/", JSON.stringify(session));
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("a hostile job shows as text everywhere, and none of its scripts, handlers, links or htmx attributes runs", async () => {
  const ref = await site.env.db.insertJob(
    "noop",
    { note: HOSTILE },
    {
      user: HOSTILE.slice(0, 191),
      status: "failed",
      error: HOSTILE,
      log: `${HOSTILE}\n`,
      result: JSON.stringify({ notice: HOSTILE }),
      finished_at: new Date(),
    },
  );
  const { context, page, problems } = await site.open();
  let exportRequested = false;
  page.on("request", (request) => {
    if (request.url().includes("export.csv")) exportRequested = true;
  });
  try {
    await signIn(page, "alice");
    for (const path of [`/job/${ref}`, "/jobs", "/jobs?tab=failed", "/"]) {
      await page.goto(`${site.url}${path}`);
      await page.waitForTimeout(300);
      assert.equal(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned), undefined, `${path}: no script of the row ran`);
      assert.equal(await page.$("#hx-hostile"), null, `${path}: the row's htmx element does not exist`);
      assert.equal(await page.$("img, iframe, object, embed"), null, `${path}: no element of the row's making`);
      const hrefs = await page.$$eval("a", (links) => links.map((link) => link.getAttribute("href") ?? ""));
      for (const href of hrefs) assert.doesNotMatch(href, /^\s*javascript:/i, `${path}: ${href}`);
    }
    await page.goto(`${site.url}/job/${ref}`);
    await waitForText(page, "main", "<script>window.pwned=1;alert(1)</script>");
    await waitForText(page, "pre#log", '<img src=x onerror="window.pwned=2;alert(2)">');
    assert.equal(exportRequested, false, "the row's hx-get never fired");
    assert.deepEqual(problems, [], "no dialog, no page error, no console error (a CSP refusal would be one)");
  } finally {
    await context.close();
  }
});

test("a form on another site that POSTs to the page is refused, and the job stays as it was", async () => {
  const ref = await site.env.db.insertJob("noop", {}, { user: "alice" });
  const target = `${site.url}/actions`;
  attacker = http.createServer((_request, response) => {
    response.setHeader("content-type", "text/html");
    response.end(
      `<form id="f" method="post" action="${target}"><input name="action" value="cancel"><input name="ref" value="${ref}"></form><script>document.getElementById("f").submit()</script>`,
    );
  });
  await new Promise<void>((resolve) => attacker!.listen(0, "127.0.0.1", resolve));
  const { context, page } = await site.open();
  try {
    await signIn(page, "alice");
    const answer = page.waitForResponse((response) => response.url() === target);
    await page.goto(`http://localhost:${(attacker.address() as AddressInfo).port}/`);
    const response = await answer;
    assert.equal(response.status(), 403);
    await waitForText(page, ".problem .message", /came from another site/);
    const [row] = await site.env.db.query<{ status: string }>("SELECT status FROM job_queue WHERE ref = ?", [ref]);
    assert.equal(row!.status, "pending");
  } finally {
    await context.close();
  }
});
