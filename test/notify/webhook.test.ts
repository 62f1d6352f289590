import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { RECORD_HANDLER, ROOT, runCli } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * A job's final outcome (not a retry) is POSTed as JSON to notify.webhook.url by a
 * real `offline-jobs run`, retried on failure, and never fails the job or hangs the run.
 */

const URL_HANDLER = path.join(ROOT, "dist/test/fixtures/url-handler.js");
const env = useTestEnvironment("oj-webhook-");

interface Received {
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** A real HTTP server on a free local port; `answer` decides each response by request number (1-based). */
class WebhookReceiver {
  readonly requests: Received[] = [];
  private readonly server: http.Server;
  answer: (n: number, response: http.ServerResponse) => void = (_n, response) => response.end("ok");

  constructor() {
    this.server = http.createServer((request, response) => {
      let text = "";
      request.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      request.on("end", () => {
        this.requests.push({ headers: request.headers, body: JSON.parse(text) as Record<string, unknown> });
        this.answer(this.requests.length, response);
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/jobs?token=s3cret`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function warnings(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { level: string; msg: string })
    .filter((entry) => entry.level === "warn")
    .map((entry) => entry.msg);
}

async function clearJobs(): Promise<void> {
  await env.db.query("DELETE FROM job_queue");
}

describe("webhook notifications", () => {
  const receiver = new WebhookReceiver();
  let url = "";
  before(async () => {
    url = await receiver.listen();
  });
  after(() => receiver.close());

  const config = (name: string, webhook: Record<string, unknown> = {}, notify: Record<string, unknown> = {}) =>
    hostConfig(
      env,
      name,
      {
        handlers: [RECORD_HANDLER, URL_HANDLER],
        notify: { webhook: { url, headers: { Authorization: "Bearer t0ken" }, ...webhook }, retryDelaySeconds: 0.2, ...notify },
      },
      name,
    );

  test("a job failed because its worker was lost gets its failure_text rendered into its result and posted", { timeout: 60_000 }, async () => {
    await clearJobs();
    receiver.requests.length = 0;
    receiver.answer = (_n, response) => response.end("ok");
    const ref = await env.db.insertJob("noop", {}, { user: "dora", max_attempts: 1, failure_text: "Sorry {user}, job {ref} was lost: {error}" });
    // What a SIGKILLed run leaves behind: running, its one attempt started (and so counted), the lease lapsed.
    await env.db.query(
      "UPDATE job_queue SET status = 'running', attempts = 1, started_at = NOW(3), locked_by = 'gone:1', lock_token = 'dead', lease_until = NOW(3) - INTERVAL 1 SECOND WHERE ref = ?",
      [ref],
    );
    const result = await runCli(["run"], { config: config("lost") });
    assert.equal(result.code, 0, tail(result.stderr));
    const notice = `Sorry dora, job ${ref} was lost: worker lost: lease expired`;
    assert.deepEqual(
      receiver.requests.map((r) => r.body),
      [{ ref, type: "noop", user: "dora", status: "failed", notice, url: null }],
    );
    const [row] = await env.db.query<{ status: string; result: string }>("SELECT status, result FROM job_queue WHERE ref = ?", [ref]);
    assert.equal(row!.status, "failed");
    assert.equal(JSON.parse(row!.result).notice, notice, "the stored result carries the same notice");
  });

  test("a completed and a failed job are each posted once with their rendered notice; a retry is not", { timeout: 60_000 }, async () => {
    await clearJobs();
    receiver.requests.length = 0;
    receiver.answer = (_n, response) => response.end("ok");
    const complete = await env.db.insertJob(
      "with_url",
      { url: "https://example.org/downloads/abc.zip" },
      {
        user: "alice",
        success_text: "{user}: your {type} job {ref} is ready at {url}",
      },
    );
    const failed = await env.db.insertJob("noop", { fail: "permanent" }, { user: "bob", failure_text: "Sorry {user}, job {ref} failed: {error}" });
    const retried = await env.db.insertJob("noop", { fail: "transient" }, { user: "carol", max_attempts: 3 });

    const result = await runCli(["run"], { config: config("plain") });
    assert.equal(result.code, 0, `the run should exit 0; stderr:\n${tail(result.stderr)}`);

    const byRef = new Map(receiver.requests.map((r) => [r.body.ref, r]));
    assert.equal(receiver.requests.length, 2, `expected one POST per final outcome, got ${JSON.stringify(receiver.requests.map((r) => r.body))}`);
    assert.deepEqual(byRef.get(complete)?.body, {
      ref: complete,
      type: "with_url",
      user: "alice",
      status: "complete",
      notice: `alice: your with_url job ${complete} is ready at https://example.org/downloads/abc.zip`,
      url: "https://example.org/downloads/abc.zip",
    });
    assert.deepEqual(byRef.get(failed)?.body, {
      ref: failed,
      type: "noop",
      user: "bob",
      status: "failed",
      notice: `Sorry bob, job ${failed} failed: noop was asked to fail permanently`,
      url: null,
    });
    assert.ok(!byRef.has(retried), "a job going back to pending for a retry must not be announced");
    const { headers } = receiver.requests[0]!;
    assert.equal(headers.authorization, "Bearer t0ken", "the configured headers are sent");
    assert.match(String(headers["content-type"]), /^application\/json/);

    const [row] = await env.db.query<{ result: string }>("SELECT result FROM job_queue WHERE ref = ?", [complete]);
    assert.equal(JSON.parse(row!.result).notice, byRef.get(complete)?.body.notice, "the posted notice is the one stored in the result");
  });

  test("a server that fails twice gets the notice on the third try, and the run reports no failure", { timeout: 60_000 }, async () => {
    await clearJobs();
    receiver.requests.length = 0;
    receiver.answer = (n, response) => {
      response.statusCode = n <= 2 ? 503 : 200;
      response.end(n <= 2 ? "busy" : "ok");
    };
    const ref = await env.db.insertJob("noop", {}, { user: "dave" });

    const result = await runCli(["run"], { config: config("flaky") });
    assert.equal(result.code, 0, `the run should exit 0; stderr:\n${tail(result.stderr)}`);
    assert.equal(receiver.requests.length, 3, "two 503 answers, then the third try succeeds");
    for (const request of receiver.requests) assert.equal(request.body.ref, ref, "every try carries the same job");
    assert.deepEqual(warnings(result.stderr), [], "a delivery that succeeded in the end is not a warning");
  });

  test("a 4xx answer is not tried again, and the failure is a warning in the log", { timeout: 60_000 }, async () => {
    await clearJobs();
    receiver.requests.length = 0;
    receiver.answer = (_n, response) => {
      response.statusCode = 404;
      response.end("no such hook");
    };
    const ref = await env.db.insertJob("noop", {}, { user: "erin" });

    const result = await runCli(["run"], { config: config("gone") });
    assert.equal(result.code, 0, `a failed delivery must not fail the run; stderr:\n${tail(result.stderr)}`);
    assert.equal(receiver.requests.length, 1, "a 404 will not change: one try only");
    const warned = warnings(result.stderr).find((w) => w.includes(`job ${ref}`));
    assert.ok(warned, `expected a warning about job ${ref}'s notification; stderr:\n${tail(result.stderr)}`);
    assert.match(warned, /answered 404/);
    assert.ok(!warned.includes("s3cret"), `the log must not show the webhook URL's token: ${warned}`);
    const [row] = await env.db.query<{ status: string }>("SELECT status FROM job_queue WHERE ref = ?", [ref]);
    assert.equal(row?.status, "complete", "the job's own outcome is untouched by the delivery failure");
  });

  test("a server that never answers fails no job and holds the run only up to exitWaitSeconds", { timeout: 60_000 }, async () => {
    await clearJobs();
    receiver.requests.length = 0;
    receiver.answer = () => undefined; // the request stays open, unanswered
    const refs = [];
    for (let i = 0; i < 5; i++) refs.push(await env.db.insertJob("noop", {}, { user: "frank" }));

    // Each try would wait 30 s and be tried 4 times: only the end-of-run bound can end it early.
    const started = Date.now();
    const result = await runCli(["run", "--max-jobs", "1"], { config: config("silent", { timeoutSeconds: 30 }, { exitWaitSeconds: 1 }), timeoutMs: 50_000 });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(result.code, 0, `the run should exit 0; stderr:\n${tail(result.stderr)}`);
    const statuses = await env.db.query<{ status: string }>("SELECT status FROM job_queue WHERE ref IN (?)", [refs]);
    assert.deepEqual(
      statuses.map((s) => s.status),
      Array(5).fill("complete"),
      "every job completes although no notice got through",
    );
    assert.ok(receiver.requests.length >= 1, "the deliveries were started");
    assert.ok(
      warnings(result.stderr).some((w) => /abandoned \d+ notification delivery\(ies\) still under way after 1 s/.test(w)),
      `the run should warn that it abandoned the deliveries; stderr:\n${tail(result.stderr)}`,
    );
    assert.ok(seconds < 25, `the run should end about 1 s after its jobs, not wait for the 30 s webhook timeout; it took ${seconds} s`);
  });
});
