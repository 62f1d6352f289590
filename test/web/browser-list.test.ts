import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { waitFor } from "../helpers/cli.js";
import { useBrowserSite, waitForText } from "./browser-harness.js";

/**
 * The jobs list in chromium, under the base path /jobs: tabs and filters, the table's own
 * refresh showing a change made in the table meanwhile, and a retry of ticked jobs.
 */

const site = useBrowserSite("oj-browser-list-");

afterEach(async () => {
  await site.env.db.query("DELETE FROM job_queue");
});

const rowRefs = (page: import("playwright-core").Page) =>
  page.$$eval("#job-rows tbody tr td:nth-child(2) a", (links) => links.map((a) => Number(a.textContent)));

test("tabs and filters show the matching jobs, every address under the base path", async () => {
  const failed = await site.env.db.insertJob("extract_text", {}, { status: "failed", error: "it broke", finished_at: new Date() });
  const pending = await site.env.db.insertJob("noop", {}, { user: "alice" });
  const other = await site.env.db.insertJob("extract_text", {}, { user: "bob" });
  const { context, page, problems } = await site.open();
  try {
    await page.goto(`${site.url}/`);
    await page.click("header nav >> text=Jobs");
    assert.equal(new URL(page.url()).pathname, "/jobs/jobs");
    assert.deepEqual(await rowRefs(page), [other, pending, failed]);
    await page.click(".tabs >> text=Failed");
    assert.match(page.url(), /\/jobs\/jobs\?tab=failed$/);
    assert.deepEqual(await rowRefs(page), [failed]);
    await page.click(".tabs >> text=All");
    await page.selectOption("select[name=type]", "extract_text");
    await page.fill("input[name=user]", "bob");
    await page.click("form.filters button[type=submit]");
    assert.deepEqual(await rowRefs(page), [other]);
    assert.match(page.url(), /^http:\/\/127\.0\.0\.1:\d+\/jobs\/jobs\?/);
    await page.fill("input[name=size]", "500");
    await page.click("form.filters button[type=submit]");
    assert.match((await page.textContent(".problem .message")) ?? "", /page size is a whole number from 1 to 200/);
    assert.deepEqual(
      problems.filter((p) => !/status of 400/.test(p)),
      [],
    );
  } finally {
    await context.close();
  }
});

test("the table refreshes itself: a status changed in the table meanwhile shows without a reload", async () => {
  const ref = await site.env.db.insertJob("noop", {});
  const { context, page, problems } = await site.open();
  try {
    await page.goto(`${site.url}/jobs`);
    await waitForText(page, "#job-rows tbody tr", "pending");
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 1));
    await site.env.db.query("UPDATE job_queue SET status = 'failed', error = 'changed behind the page', finished_at = NOW(3) WHERE ref = ?", [ref]);
    await waitForText(page, "#job-rows tbody tr", /failed.*changed behind the page/, 15_000);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 1, "the same document: no reload");
    await site.env.db.query("UPDATE job_queue SET error = 'after the button' WHERE ref = ?", [ref]);
    await page.click("text=Refresh");
    await waitForText(page, "#job-rows tbody tr", /after the button/, 3_000);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("the refresh pauses while the browser tab is hidden and while jobs are ticked, and comes back at once when the tab is shown", async () => {
  await site.env.db.insertJob("noop", {});
  const { context, page, problems } = await site.open();
  let refreshes = 0;
  page.on("request", (request) => {
    if (request.url().includes("/jobs/jobs/rows")) refreshes++;
  });
  try {
    await page.goto(`${site.url}/jobs`);
    await page.evaluate(() => {
      const doc = (globalThis as unknown as { document: object }).document;
      Object.defineProperty(doc, "visibilityState", { configurable: true, get: () => "hidden" });
    });
    refreshes = 0;
    await page.waitForTimeout(6_500);
    assert.equal(refreshes, 0, "no refresh while hidden");
    await page.evaluate(() => {
      const doc = (globalThis as unknown as { document: { dispatchEvent(event: unknown): void } }).document;
      Object.defineProperty(doc, "visibilityState", { configurable: true, get: () => "visible" });
      doc.dispatchEvent(new (globalThis as unknown as { Event: new (name: string) => unknown }).Event("visibilitychange"));
    });
    await waitFor(() => refreshes > 0, "a refresh as soon as the tab is visible again", 2_000);
    await page.check("#job-rows input[name=ref]");
    refreshes = 0;
    await page.waitForTimeout(6_500);
    assert.equal(refreshes, 0, "no refresh while a job is ticked (it would untick it)");
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("a bulk retry: tick failed jobs, press Retry, and they are pending again with a note in their logs", async () => {
  const refs = [];
  for (let i = 0; i < 3; i++) refs.push(await site.env.db.insertJob("noop", {}, { status: "failed", error: `broke ${i}`, finished_at: new Date() }));
  const untouched = await site.env.db.insertJob("noop", {}, { status: "failed", error: "left alone", finished_at: new Date() });
  const { context, page, problems } = await site.open();
  try {
    await page.goto(`${site.url}/jobs?tab=failed`);
    for (const ref of refs) await page.check(`input[name=ref][value="${ref}"]`);
    await page.click("button[name=action][value=retry]");
    await waitForText(page, "main", /Retried 3 jobs/);
    const rows = await site.env.db.query<{ ref: number; status: string; log: string | null }>("SELECT ref, status, log FROM job_queue ORDER BY ref");
    for (const row of rows) {
      if (Number(row.ref) === untouched) assert.equal(row.status, "failed");
      else {
        assert.equal(row.status, "pending");
        assert.match(row.log ?? "", /retried by local \(web\)/);
      }
    }
    await page.click("text=Back");
    await waitFor(() => page.url().endsWith("/jobs/jobs?tab=failed"), "back to the failed tab");
    assert.deepEqual(await rowRefs(page), [untouched]);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
