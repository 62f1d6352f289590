import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useTestDatabase } from "../helpers/database.js";
import { makePage } from "./web-harness.js";

/**
 * What every request meets before a page answers: the headers (CSP with a nonce, nosniff,
 * no-store), the cross-site check of every POST, the read-only switch, and bounds on every
 * input that answer 400 with a sentence instead of running a slow query.
 */

const database = useTestDatabase();
const ADMIN = { web: { localAdmin: true, allowedOrigins: ["https://intranet.example.org"] } };

async function pendingJob(): Promise<number> {
  return database.insertJob("noop", {}, { user: "alice" });
}

async function statusOf(ref: number): Promise<string> {
  const [row] = await database.query<{ status: string }>("SELECT status FROM job_queue WHERE ref = ?", [ref]);
  return row!.status;
}

describe("headers", () => {
  test("pages carry a strict CSP whose nonce is the one on our script tags, nosniff, DENY framing and no-store", async () => {
    const page = await makePage(database, ADMIN, { basePath: "/jobs" });
    const response = await page.request("/jobs/jobs");
    const csp = response.headers.get("content-security-policy") ?? "";
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce, csp);
    assert.equal(
      csp,
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    );
    const html = await response.text();
    assert.equal(
      [...html.matchAll(new RegExp(`<script nonce="${nonce!.replace(/[+/=]/g, "\\$&")}"`, "g"))].length,
      2,
      "both scripts carry this response's nonce",
    );
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.equal(response.headers.get("x-frame-options"), "DENY");
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.notEqual((await page.request("/jobs/")).headers.get("content-security-policy"), csp, "a new nonce per response");
  });

  test("htmx and the page's own files are served from the package under the base path, cached when versioned", async () => {
    const page = await makePage(database, ADMIN, { basePath: "/jobs" });
    const html = await (await page.request("/jobs/")).text();
    const htmx = /src="(\/jobs\/static\/htmx\.min\.js\?v=[0-9a-f]+)"/.exec(html)?.[1];
    assert.ok(htmx);
    const response = await page.request(htmx);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /javascript/);
    assert.match(response.headers.get("cache-control") ?? "", /immutable/);
    assert.match(await response.text(), /version:"2\.0\.\d+"/, "htmx 2.0.x");
    assert.equal((await page.request("/jobs/static/app.css")).status, 200);
    assert.equal((await page.request("/jobs/static/../package.json")).status, 404);
  });

  test("the base path without its slash goes to the overview; nothing answers outside it", async () => {
    const page = await makePage(database, ADMIN, { basePath: "/jobs" });
    const bare = await page.request("/jobs");
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.get("location"), "/jobs/");
    assert.equal((await page.request("/")).status, 404);
    assert.equal((await page.request("/jobs/jobs/")).status, 404);
  });
});

describe("cross-site requests", () => {
  test("a POST from another site is refused and changes nothing", async () => {
    const page = await makePage(database, ADMIN);
    const ref = await pendingJob();
    const attacks: Array<Record<string, string>> = [
      { "sec-fetch-site": "cross-site", origin: "https://evil.example" },
      { "sec-fetch-site": "same-site", origin: "https://sibling.example.org" },
      { "sec-fetch-site": "", origin: "https://evil.example" },
      { "sec-fetch-site": "", origin: "null" },
      { "sec-fetch-site": "" },
    ];
    for (const headers of attacks) {
      const response = await page.request("/actions", { form: { action: "cancel", ref: String(ref) }, headers });
      assert.equal(response.status, 403, JSON.stringify(headers));
      assert.match(await response.text(), /came from another site/);
    }
    assert.equal(await statusOf(ref), "pending");
  });

  test("a POST that is not a form is refused whatever its origin, and only GET and POST are taken", async () => {
    const page = await makePage(database, ADMIN);
    const ref = await pendingJob();
    const json = await page.request("/actions", { method: "POST", headers: { "content-type": "application/json" } });
    assert.equal(json.status, 415);
    const put = await page.request("/actions", { method: "PUT", headers: { "content-type": "application/x-www-form-urlencoded" } });
    assert.equal(put.status, 400);
    assert.equal(await statusOf(ref), "pending");
  });

  test("a browser without Sec-Fetch-Site is believed by its Origin: the page's own, or one in web.allowedOrigins (a proxy's)", async () => {
    const page = await makePage(database, ADMIN);
    for (const origin of ["http://localhost:8080", "https://intranet.example.org"]) {
      const ref = await pendingJob();
      const response = await page.request("/actions", { form: { action: "cancel", ref: String(ref) }, headers: { "sec-fetch-site": "", origin } });
      assert.equal(response.status, 303, origin);
      assert.equal(await statusOf(ref), "cancelled");
    }
  });

  test("GETs change nothing: a cancel link is just a 404", async () => {
    const page = await makePage(database, ADMIN);
    const ref = await pendingJob();
    assert.equal((await page.request(`/actions?action=cancel&ref=${ref}`)).status, 404);
    assert.equal(await statusOf(ref), "pending");
  });
});

describe("read-only", () => {
  test("every POST is refused with 403, and the page offers no action", async () => {
    const page = await makePage(database, ADMIN, { readOnly: true });
    const ref = await pendingJob();
    for (const [path, form] of [
      ["/actions", { action: "cancel", ref: String(ref) }],
      ["/new/noop", { "f.sleepMs": "1" }],
      ["/purge", { days: "0" }],
      ["/clear", {}],
    ] as const) {
      const response = await page.request(path, { form });
      assert.equal(response.status, 403, path);
      assert.match(await response.text(), /read-only/);
    }
    assert.equal(await statusOf(ref), "pending");
    const details = await (await page.request(`/job/${ref}`)).text();
    assert.doesNotMatch(details, /action="\/actions"/, "no action buttons");
  });
});

describe("bounded inputs", () => {
  const cases: Array<[string, RegExp]> = [
    ["/jobs?size=500", /page size is a whole number from 1 to 200/],
    ["/jobs?size=0", /page size is a whole number from 1 to 200/],
    ["/jobs?from=2020-01-01&to=2022-01-01", /a date range spans at most 366 days/],
    ["/jobs?from=2024-02-30", /the from date must be a day written YYYY-MM-DD/],
    ["/jobs?from=2024-05-01&to=2024-04-01", /the from date must not be after the to date/],
    [`/jobs?host=${"h".repeat(201)}`, /the host filter is longer than 200 characters/],
    ["/jobs?ref=12a", /the ref filter is a job(&#39;|')s ref: digits only/],
    ["/jobs?tab=everything", /the tab must be one of all, pending/],
    ["/jobs?sort=user", /the sort must be one of created, priority, ref/],
    ["/jobs?after=garbage", /cursor/],
    ["/jobs?value=x", /a job_data value needs the field/],
    ["/jobs?field=a%20b&value=1", /a job_data field is a top-level key/],
    ["/jobs?field=Password&value=hunter2", /is redacted \(web\.redactKeys\), so it cannot be filtered on/],
    ["/job/abc", /a job(&#39;|')s ref is a whole number from 1/],
    ["/job/99999999999999999999", /a job(&#39;|')s ref is a whole number from 1/],
  ];
  for (const [path, message] of cases) {
    test(`${decodeURIComponent(path).slice(0, 60)} → a 400 (or 403) that says why`, async () => {
      const page = await makePage(database, ADMIN);
      const response = await page.request(path);
      assert.ok(response.status === 400 || response.status === 403, `${path}: ${response.status}`);
      assert.match(await response.text(), message);
    });
  }

  test("a selection of more than 200 jobs, and a form body over 256 KiB, are refused", async () => {
    const page = await makePage(database, ADMIN);
    const many = await page.request("/actions", { form: { action: "retry", ref: Array.from({ length: 201 }, (_, i) => String(i + 1)) } });
    assert.equal(many.status, 400);
    assert.match(await many.text(), /at most 200 jobs can be ticked at once/);
    const huge = await page.request("/new/noop", { form: { "f.sleepMs": "1".repeat(300 * 1024) } });
    assert.equal(huge.status, 413);
  });
});
