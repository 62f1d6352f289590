import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useTestDatabase } from "../helpers/database.js";
import { makePage } from "./web-harness.js";

/**
 * Every column of a job row was written by some other program: a hostile row's markup, event
 * handlers, `javascript:` links and htmx attributes must reach the page as text. Checked on the
 * page's structure: the only scripts are our two (with the response's nonce), no element the
 * row named exists, every link and every htmx URL is one the page made.
 */

const database = useTestDatabase({ emptyBeforeEach: true });

const HOSTILE = [
  "<script>window.pwned=1</script>",
  '<img src=x onerror="window.pwned=2">',
  '<a href="javascript:window.pwned=3">click</a>',
  '<div hx-get="/jobs/export.csv" hx-trigger="load" hx-target="body">',
  '"><svg onload=window.pwned=4>',
  "\u202eexe.jpg\u0007\u001b[2J",
].join(" ");

async function hostileJob(extra: Record<string, unknown> = {}, type = "noop"): Promise<number> {
  return database.insertJob(
    type,
    { note: HOSTILE, [HOSTILE]: HOSTILE, nested: { password: "hunter2-secret", list: [HOSTILE] } },
    {
      user: HOSTILE.slice(0, 191),
      error: HOSTILE,
      log: `${HOSTILE}\nsecond line\n`,
      result: JSON.stringify({ notice: HOSTILE, url: "javascript:window.pwned=5" }),
      success_text: HOSTILE,
      job_code: HOSTILE.slice(0, 191),
      locked_by: HOSTILE.slice(0, 100),
      ...extra,
    },
  );
}

/** Every element of `html`: its name and attributes. Text has its < escaped, so every "<" and a letter opens a real element. */
function elements(html: string): Array<{ name: string; attributes: Array<[string, string]> }> {
  return [...html.matchAll(/<([a-zA-Z][\w-]*)((?:\s+[^\s=>/]+(?:="[^"]*")?)*)\s*\/?>/g)].map((match) => ({
    name: match[1]!.toLowerCase(),
    attributes: [...match[2]!.matchAll(/\s+([^\s=>/]+)(?:="([^"]*)")?/g)].map((a) => [a[1]!.toLowerCase(), a[2] ?? ""] as [string, string]),
  }));
}

/** Asserts that `html` is a page of ours with nothing of the row's making in it. */
function assertInert(html: string, where: string, shown = /&lt;script&gt;window\.pwned=1&lt;\/script&gt;/): void {
  const found = elements(html);
  const names = new Set(found.map((element) => element.name));
  for (const name of ["img", "svg", "iframe", "object", "embed", "base"])
    if (name !== "svg" || where !== "/jobs/") assert.ok(!names.has(name), `${where}: no <${name}> element`);
  const scripts = found.filter((element) => element.name === "script");
  assert.ok(scripts.length <= 2, `${where}: only htmx and app.js are scripts`);
  for (const script of scripts) {
    const src = script.attributes.find(([name]) => name === "src")?.[1] ?? "";
    assert.match(src, /^\/(jobs\/)?static\/(htmx\.min|app)\.js\?v=[0-9a-f]+$/, `${where}: a script of ours, not ${src}`);
    assert.ok(
      script.attributes.some(([name]) => name === "nonce"),
      `${where}: with the nonce`,
    );
  }
  for (const element of found) {
    for (const [name, value] of element.attributes) {
      assert.doesNotMatch(name, /^on/, `${where}: no event handler attribute (${name} on <${element.name}>)`);
      if (name === "href" || name === "action" || name === "src") assert.match(value, /^(\/|data:,$)/, `${where}: every URL is the page's own, not ${value}`);
      if (name.startsWith("hx-") && /^hx-(get|post)$/.test(name))
        assert.match(value, /^\/jobs\/(jobs\/rows|overview)(\?|$)/, `${where}: every htmx URL is the page's own, not ${value}`);
      if (name.startsWith("hx-"))
        assert.ok(["hx-get", "hx-target", "hx-swap", "hx-trigger"].includes(name), `${where}: only the page's own htmx attributes (${name})`);
    }
  }
  assert.match(html, shown, `${where}: the row's markup shows as text`);
}

describe("a job whose every column holds markup, handlers, links and htmx attributes", () => {
  test("its details page shows them as text, redacts password keys, and links no javascript: URL", async () => {
    const ref = await hostileJob({ status: "complete", finished_at: new Date() });
    const page = await makePage(database, {}, { basePath: "/jobs" });
    const response = await page.request(`/jobs/job/${ref}`);
    assert.equal(response.status, 200);
    const html = await response.text();
    assertInert(html, "details");
    assert.doesNotMatch(html, /hunter2-secret/, "the password in job_data is redacted");
    assert.match(html, /&quot;password&quot;: &quot;\[redacted\]&quot;/);
    assert.doesNotMatch(html, /Download the file/, "a download link is made only of an http(s) URL of a download type");
    assert.match(html, /\\u202eexe\.jpg\\u0007\\u001b\[2J/, "control and bidi characters are shown escaped");
  });

  test("the list, its refreshed rows, the overview and the export show them as text too", async () => {
    await hostileJob({ status: "failed", finished_at: new Date() }, "<b>type</b>");
    await hostileJob();
    const page = await makePage(database, {}, { basePath: "/jobs" });
    for (const path of ["/jobs/jobs", "/jobs/jobs?tab=failed", "/jobs/"]) {
      const response = await page.request(path);
      assert.equal(response.status, 200, path);
      const html = await response.text();
      assertInert(html, path, path === "/jobs/" ? /&lt;b&gt;type&lt;\/b&gt;/ : undefined);
    }
    const rows = await (await page.request("/jobs/jobs/rows")).text();
    assert.doesNotMatch(rows, /<script|<img|<svg onload|<div hx-get="\/jobs\/export/i, "the refreshed rows too");
    assert.match(rows, /&lt;b&gt;type&lt;\/b&gt;/);
    const overview = await (await page.request("/jobs/overview")).text();
    assert.doesNotMatch(overview, /<b>type<\/b>/);
  });

  test("the live log sends the row's text as event data, escaped for a terminal and never as markup the page parses", async () => {
    const ref = await hostileJob({ status: "complete", finished_at: new Date() });
    const page = await makePage(database, {}, { basePath: "/jobs" });
    const response = await page.request(`/jobs/job/${ref}/log?from=0`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    const stream = await response.text();
    assert.match(stream, /event: log\ndata: <script>window\.pwned=1<\/script>/, "the text is data (app.js adds it as a text node)");
    assert.match(stream, /\\u202eexe\.jpg\\u0007\\u001b\[2J/);
    assert.match(stream, /event: end\ndata: complete/);
  });

  test("a CSV cell that would start a spreadsheet formula gets a leading apostrophe", async () => {
    await database.insertJob("noop", {}, { user: '=HYPERLINK("http://evil.example")', status: "failed", error: "+cmd|' /C calc'!A0", finished_at: new Date() });
    const page = await makePage(database, { web: { localAdmin: true } });
    const csv = await (await page.request("/export.csv")).text();
    assert.match(csv, /"'=HYPERLINK\(""http:\/\/evil\.example""\)"/);
    assert.match(csv, /'\+cmd\|' \/C calc'!A0/);
  });
});
