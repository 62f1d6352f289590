import assert from "node:assert/strict";
import { test } from "node:test";
import { useBrowserSite, waitForText } from "./browser-harness.js";

/** The create form in chromium: generated from the type's schema, refusing bad input in the schema's words, adding a valid job. */

const site = useBrowserSite("oj-browser-create-", () => ({ types: { noop: { createPermissions: [] } } }));

test("a create form refuses bad input with the schema's message, then creates a valid job and shows it", async () => {
  const { context, page, problems } = await site.open();
  try {
    await page.goto(`${site.url}/`);
    await page.click("header nav >> text=New job");
    await page.click(".card:has-text('noop')");
    assert.match(page.url(), /\/jobs\/new\/noop$/);
    await page.fill("input[name='f.sleepMs']", "-3");
    await page.click("button:has-text('Add the job')");
    await waitForText(page, ".error-box", /job_data for noop is invalid: sleepMs: Too small: expected number to be >=0/);
    assert.equal(await page.inputValue("input[name='f.sleepMs']"), "-3", "the form keeps what was typed");
    assert.equal((await site.env.db.query("SELECT ref FROM job_queue")).length, 0);

    await page.fill("input[name='f.sleepMs']", "1500");
    await page.selectOption("select[name='f.fail']", "transient");
    await page.click("button:has-text('Add the job')");
    await page.waitForURL(/\/jobs\/job\/\d+$/);
    const ref = Number(/\/job\/(\d+)$/.exec(page.url())![1]);
    const [row] = await site.env.db.query<{ type: string; job_data: string; user: string; status: string }>(
      "SELECT type, job_data, user, status FROM job_queue WHERE ref = ?",
      [ref],
    );
    assert.deepEqual(
      { ...row, job_data: JSON.parse(row!.job_data) },
      { type: "noop", job_data: { sleepMs: 1500, fail: "transient" }, user: "local", status: "pending" },
    );
    await waitForText(page, "h1", `Job ${ref}`);
    await waitForText(page, "pre#log", /created by local \(web\)/);
    assert.deepEqual(
      problems.filter((p) => !/status of 400/.test(p)),
      [],
    );
  } finally {
    await context.close();
  }
});
