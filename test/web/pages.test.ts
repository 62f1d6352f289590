import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openDatabase } from "../../src/queue/db.js";
import { makeTempDir, runCli, writeConfig } from "../helpers/cli.js";
import { useTestDatabase } from "../helpers/database.js";
import { makePage } from "./web-harness.js";

/**
 * The pages do what they show: the list's tabs, filters, keyset pages and queue positions; a
 * create form's refusal in the command line's words and its job; everything-matching actions
 * after a confirmation; and what an idle open page costs the database.
 */

const database = useTestDatabase({ emptyBeforeEach: true });
const ADMIN = { web: { localAdmin: true } };

const refsIn = (html: string) => [...html.matchAll(/<a href="\/jobs\/job\/(\d+)">/g)].map((m) => Number(m[1]));

describe("the jobs list", () => {
  test("tabs and filters show exactly the matching jobs; pending ones with their queue position, running ones with progress", async () => {
    const due1 = await database.insertJob("noop", { resource: 7 }, { user: "alice", priority: 1 });
    const due2 = await database.insertJob("noop", { resource: 8 }, { user: "bob" });
    const later = await database.insertJob("noop", {}, { user: "alice", run_after: new Date(Date.now() + 3_600_000) });
    const running = await database.insertJob("extract_text", {}, { status: "running", attempts: 1, progress: 42, locked_by: "web-3:1234", user: "bob" });
    const failed = await database.insertJob("extract_text", {}, { status: "failed", error: "it broke", user: "alice", finished_at: new Date() });
    const page = await makePage(database, ADMIN, { basePath: "/jobs" });
    const list = async (query: string) => {
      const response = await page.request(`/jobs/jobs${query}`);
      assert.equal(response.status, 200, query);
      return response.text();
    };
    assert.deepEqual(refsIn(await list("")), [failed, running, later, due2, due1]);
    const pending = await list("?tab=pending");
    assert.deepEqual(refsIn(pending), [later, due2, due1]);
    assert.match(pending, /next in the queue/, "the priority-1 job is next");
    assert.match(pending, /#2 in the queue/);
    assert.match(pending, /due in (59 min|1 h)/);
    const runningPage = await list("?tab=running");
    assert.deepEqual(refsIn(runningPage), [running]);
    assert.match(runningPage, /<progress max="100" value="42">/);
    assert.deepEqual(refsIn(await list("?tab=failed")), [failed]);
    assert.deepEqual(refsIn(await list("?user=alice")), [failed, later, due1]);
    assert.deepEqual(refsIn(await list("?type=extract_text")), [failed, running]);
    assert.deepEqual(refsIn(await list("?host=web-3")), [running]);
    assert.deepEqual(refsIn(await list(`?ref=${due2}`)), [due2]);
    assert.deepEqual(refsIn(await list("?field=resource&value=8")), [due2]);
    assert.deepEqual(refsIn(await list("?sort=priority&dir=asc")).slice(0, 1), [due1]);
    assert.deepEqual(refsIn(await list("?sort=ref&dir=asc")), [due1, due2, later, running, failed]);
    const today = new Date();
    const day = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, "0")}-${String(today.getDate()).padStart(2, "0")}`;
    assert.equal(refsIn(await list(`?from=${day}&to=${day}`)).length, 5, "created today");
    assert.equal(refsIn(await list("?from=2001-01-01&to=2001-12-31")).length, 0);
  });

  test("pages follow each other by keyset cursor until the last, and the rows alone refresh the same page", async () => {
    const refs: number[] = [];
    for (let i = 0; i < 7; i++) refs.push(await database.insertJob("noop", { i }));
    const page = await makePage(database, ADMIN, { basePath: "/jobs" });
    const seen: number[] = [];
    let next: string | undefined = "/jobs/jobs?size=3";
    for (let pages = 0; next && pages < 5; pages++) {
      const html: string = await (await page.request(next)).text();
      seen.push(...refsIn(html));
      const cursor: string | undefined = /<a class="button" href="([^"]+)">Next page/.exec(html)?.[1];
      next = cursor?.replace(/&amp;/g, "&");
      if (cursor) {
        const rowsUrl = /hx-get="(\/jobs\/jobs\/rows[^"]*)"/.exec(await (await page.request(next!)).text())?.[1]?.replace(/&amp;/g, "&");
        assert.ok(rowsUrl?.includes("after="), "the refresh of a later page keeps its cursor");
      }
    }
    assert.deepEqual(seen, [...refs].reverse(), "every job once, newest first");
  });

  test("an idle open page costs one small statement per refresh, and redraws as soon as a job changes", async () => {
    const refs: number[] = [];
    for (let i = 0; i < 30; i++) refs.push(await database.insertJob(i % 3 ? "noop" : "extract_text", {}, { status: i % 5 ? "pending" : "failed" }));
    const counted = openDatabase(database.url, "job_queue", 2);
    let statements = 0;
    const query = counted.pool.query.bind(counted.pool);
    counted.pool.query = ((...args: Parameters<typeof query>) => {
      statements++;
      return query(...args);
    }) as typeof query;
    try {
      const page = await makePage({ ...database, db: counted }, ADMIN);
      const refreshUrl = async (path: string, id: string) => {
        const html = await (await page.request(path)).text();
        return new RegExp(`id="${id}"[^>]*hx-get="([^"]+)"`).exec(html)![1]!.replace(/&amp;/g, "&");
      };
      const refresh = async (url: string) => {
        statements = 0;
        const response = await page.request(url);
        return { status: response.status, statements, html: await response.text() };
      };
      for (const [path, id, seconds] of [
        ["/jobs?tab=pending", "job-rows", 5],
        ["/", "overview", 10],
      ] as const) {
        const url = await refreshUrl(path, id);
        const idle = await refresh(url);
        assert.equal(idle.status, 204, `${path}: nothing changed, nothing redrawn`);
        assert.ok(idle.statements / seconds <= 1, `${path}: an idle refresh every ${seconds} s costs ${idle.statements} statement(s)`);
        await database.query("UPDATE job_queue SET status = 'running', attempts = 1, lease_until = NOW(3) + INTERVAL 1 MINUTE WHERE ref = ?", [refs.pop()]);
        const changed = await refresh(url);
        assert.equal(changed.status, 200, `${path}: a claimed job redraws the part`);
        assert.match(changed.html, new RegExp(`^<div id="${id}"`));
        assert.ok(changed.statements <= 5, `${path}: a redraw costs ${changed.statements} statements`);
      }
    } finally {
      await counted.close();
    }
  });
});

describe("creating a job from the form", () => {
  test("bad input is refused with the command line's own sentence, and the form keeps what was typed", async () => {
    const page = await makePage(database, ADMIN, { basePath: "/jobs" });
    const form = await (await page.request("/jobs/new/noop")).text();
    assert.match(form, /name="f\.sleepMs"/);
    assert.match(form, /<select name="f\.fail">/);
    const response = await page.request("/jobs/new/noop", { form: { "f.sleepMs": "-5" } });
    assert.equal(response.status, 400);
    const html = await response.text();
    const dir = makeTempDir();
    const cli = await runCli(["add", "noop", "--data", '{"sleepMs": -5}'], { config: writeConfig(dir, { database: { url: database.url } }) });
    assert.equal(cli.code, 2);
    const sentence = /^offline-jobs: (job_data for noop is invalid: .+?) \(see offline-jobs --help\)$/m.exec(cli.stderr)?.[1];
    assert.ok(sentence, cli.stderr);
    assert.ok(
      html.includes(sentence!.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")),
      `the page says ${sentence}`,
    );
    assert.match(html, /name="f\.sleepMs" value="-5"/);
    assert.equal((await database.query("SELECT ref FROM job_queue")).length, 0, "nothing was added");
    const json = await page.request("/jobs/new/command", { form: { "f.command": "hello", "f.args": "{not json" } });
    assert.equal(json.status, 400);
    assert.match(await json.text(), /args: is not valid JSON/);
  });

  test("a valid form adds the job for the signed-in user, with a note in its log, and shows its page", async () => {
    const page = await makePage(database, ADMIN, { basePath: "/jobs" });
    const response = await page.request("/jobs/new/noop", { form: { "f.sleepMs": "250", "f.fail": "" } });
    assert.equal(response.status, 303);
    const [row] = await database.query<{ ref: number; job_data: string; user: string; log: string }>("SELECT ref, job_data, user, log FROM job_queue");
    assert.equal(response.headers.get("location"), `/jobs/job/${row!.ref}`);
    assert.deepEqual(JSON.parse(row!.job_data), { sleepMs: 250 });
    assert.equal(row!.user, "local");
    assert.match(row!.log, /created by local \(web\)/);
  });
});

describe("everything matching the filter", () => {
  test("retry all failed jobs of a type: a confirmation with the count, then each job retried and noted", async () => {
    const failed = [];
    for (let i = 0; i < 4; i++) failed.push(await database.insertJob("extract_text", {}, { status: "failed", error: `broke ${i}`, finished_at: new Date() }));
    const otherType = await database.insertJob("noop", {}, { status: "failed", error: "other", finished_at: new Date() });
    const page = await makePage(database, ADMIN, { basePath: "/jobs" });
    const confirm = await page.request("/jobs/actions/confirm?action=retry&tab=failed&type=extract_text");
    assert.equal(confirm.status, 200);
    const html = await confirm.text();
    assert.match(html, /4 jobs match the filter/);
    assert.equal((await database.query("SELECT ref FROM job_queue WHERE status = 'pending'")).length, 0, "the confirmation changed nothing");
    const fields = Object.fromEntries(
      [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, "&")]),
    );
    assert.deepEqual(fields, { action: "retry", back: "/jobs/jobs?tab=failed&type=extract_text", tab: "failed", type: "extract_text" });
    const done = await page.request("/jobs/actions/all", { form: fields });
    assert.equal(done.status, 200);
    assert.match(await done.text(), /Retried 4 jobs/);
    const rows = await database.query<{ ref: number; status: string; log: string | null }>("SELECT ref, status, log FROM job_queue ORDER BY ref");
    for (const row of rows) {
      if (failed.includes(Number(row.ref))) {
        assert.equal(row.status, "pending");
        assert.match(row.log ?? "", /retried by local \(web\)/);
      } else assert.equal(Number(row.ref), otherType);
    }
    assert.equal(rows.find((row) => Number(row.ref) === otherType)!.status, "failed", "the other type is untouched");
  });
});
