import assert from "node:assert/strict";
import { after, test } from "node:test";
import { collect, killTree, sleep, startCli, waitFor } from "../helpers/cli.js";
import { useBrowserSite, waitForText } from "./browser-harness.js";

/**
 * A job's page in chromium while a real worker runs it: the log of a running `command` job
 * grows on screen (Server-Sent Events, no reload), and Cancel on the page stops the job on the
 * worker, which the page then shows.
 */

const TICKER = ["sh", "-c", 'i=0; while [ $i -lt 120 ]; do i=$((i+1)); echo "tick $i"; sleep 0.5; done'];

const site = useBrowserSite("oj-browser-job-", () => ({
  commands: { ticker: { argv: TICKER, usableBy: ["command"], timeoutSeconds: 300 } },
  leaseSeconds: 6,
}));

let worker: ReturnType<typeof startCli> | undefined;
after(() => {
  if (worker) killTree(worker);
});

const logOf = async (ref: number) => (await site.env.db.query<{ log: string | null }>("SELECT log FROM job_queue WHERE ref = ?", [ref]))[0]?.log ?? "";
const ticks = (text: string) => (text.match(/tick \d+/g) ?? []).length;

test("the log of a running command job grows on screen, and Cancel on the page stops it where it runs", async () => {
  const ref = await site.env.db.insertJob("command", { command: "ticker" }, { user: "alice" });
  worker = startCli(["work", "--sleep", "0.3", "--max-jobs", "1"], { config: site.config });
  const workerEnded = collect(worker, 120_000);
  const { context, page, problems } = await site.open();
  try {
    await page.goto(`${site.url}/job/${ref}`);
    assert.ok(await page.$("pre#log[data-log-stream]"), "an unfinished job's log is followed live");
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 1));
    await waitForText(page, "pre#log", /tick 1\b/, 30_000);
    const early = ticks((await page.textContent("pre#log")) ?? "");
    await waitForText(page, "pre#log", new RegExp(`tick ${early + 4}\\b`), 20_000);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 1, "the log grew in the same document, without a reload");
    await waitForText(page, "[data-live=status]", "running");

    await page.click("button:has-text('Cancel')");
    await waitForText(page, "[data-live=status]", "cancelled", 20_000);
    const row = await waitFor(
      async () => {
        const [found] = await site.env.db.query<{ status: string; lease_until: string | null; log: string }>(
          "SELECT status, lease_until, log FROM job_queue WHERE ref = ?",
          [ref],
        );
        return found?.status === "cancelled" && found.lease_until === null ? found : undefined;
      },
      "the worker to stop the cancelled job and let it go",
      20_000,
    );
    assert.match(row.log, /cancelled by local \(web\)/, "the log says who cancelled it");
    const stopped = ticks(await logOf(ref));
    await sleep(2500);
    assert.equal(ticks(await logOf(ref)), stopped, "no tick after the stop: the command was killed");
    await waitFor(
      async () => (await page.textContent("h1 .status")) === "cancelled" && !(await page.$("pre#log[data-log-stream]")),
      "the page to show the ended job",
      20_000,
    );
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    worker.kill("SIGTERM");
    await workerEnded;
  }
});
