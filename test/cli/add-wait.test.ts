import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { collect, runCli, sleep, startCli, waitFor, type CliResult } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * `add --wait` blocks until whoever runs the job (here a separately started
 * `offline-jobs run`, as cron would start it) has finished it, and its exit code says how it
 * ended: 0 complete, 1 failed or cancelled, 124 on --timeout (the job stays queued).
 */

let config = "";
const env = useTestEnvironment("oj-add-wait-", (e) => {
  config = hostConfig(e, "host-a");
});

const me = `cli:${os.userInfo().username}`;

interface Waiting {
  child: ChildProcess;
  result: Promise<CliResult>;
}

function startAdd(args: string[]): Waiting {
  const child = startCli(["add", ...args], { config });
  return { child, result: collect(child, 60_000) };
}

/** Waits until the add has inserted `count` more jobs than `before`, and returns the new refs. */
async function addedRefs(before: number, count = 1): Promise<number[]> {
  const found = await waitFor(async () => {
    const rows = await env.db.query<{ ref: number }>("SELECT ref FROM job_queue WHERE ref > ? ORDER BY ref", [before]);
    return rows.length >= count ? rows.map((r) => Number(r.ref)) : undefined;
  }, `${count} job(s) added after ref ${before}`);
  return found;
}

async function lastRef(): Promise<number> {
  const [row] = await env.db.query<{ ref: number | null }>("SELECT MAX(ref) AS ref FROM job_queue");
  return Number(row?.ref ?? 0);
}

/** The add must still be waiting while its job is pending: it has not exited on its own. */
async function assertStillWaiting(waiting: Waiting, what: string): Promise<void> {
  await sleep(300);
  assert.equal(waiting.child.exitCode, null, `add --wait exited before ${what}`);
}

async function runQueue(): Promise<void> {
  const run = await runCli(["--quiet"], { config });
  assert.equal(run.code, 0, `the run exited ${run.code}: ${tail(run.stderr)}`);
}

test("add --wait exits 0 once a separately started run completes the job, with the ref alone on stdout and the notice on stderr", async () => {
  const before = await lastRef();
  const waiting = startAdd(["noop", "--data", '{"sleepMs": 200}', "--success-text", "ready: {ref}", "--wait", "--log-format", "human"]);
  const [ref] = await addedRefs(before);
  await assertStillWaiting(waiting, "any run started");
  await runQueue();
  const add = await waiting.result;
  assert.equal(add.code, 0, `add --wait should exit 0 for a complete job; stderr:\n${tail(add.stderr)}`);
  assert.equal(add.stdout, `${ref}\n`, "stdout carries the ref alone, as without --wait");
  assert.match(add.stderr, new RegExp(`job ${ref} complete — notice: ready: ${ref}`), "stderr says how the job ended, with its notice");
});

test("add --wait exits 1 when the job fails, naming the error", async () => {
  const before = await lastRef();
  const waiting = startAdd(["noop", "--data", '{"fail": "permanent"}', "--failure-text", "sorry {ref}", "--wait", "--log-format", "json"]);
  const [ref] = await addedRefs(before);
  await assertStillWaiting(waiting, "the run failed the job");
  await runQueue();
  const add = await waiting.result;
  assert.equal(add.code, 1, `a failed job exits 1; stderr:\n${tail(add.stderr)}`);
  assert.equal(add.stdout, `${ref}\n`);
  const line = add.stderr
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.ref === ref);
  assert.ok(line, `a JSON log line about job ${ref}; got:\n${add.stderr}`);
  assert.equal(line.status, "failed");
  assert.equal(line.level, "error");
  assert.match(String(line.error), /asked to fail permanently/);
  assert.equal(line.notice, `sorry ${ref}`);
});

test("add --wait exits 1 when the job is cancelled or deleted while it waits", async () => {
  for (const [what, change] of [
    ["cancelled", "UPDATE job_queue SET status = 'cancelled', finished_at = NOW(3) WHERE ref = ?"],
    ["deleted", "DELETE FROM job_queue WHERE ref = ?"],
  ] as const) {
    const before = await lastRef();
    const waiting = startAdd(["noop", "--wait", "--log-format", "human"]);
    const [ref] = await addedRefs(before);
    await assertStillWaiting(waiting, `the job was ${what}`);
    await env.db.query(change, [ref]);
    const add = await waiting.result;
    assert.equal(add.code, 1, `a ${what} job exits 1; stderr:\n${tail(add.stderr)}`);
    assert.match(add.stderr, what === "cancelled" ? new RegExp(`job ${ref} cancelled`) : new RegExp(`job ${ref} was deleted`));
  }
});

test("add --wait --timeout exits 124 when nothing runs the job, and leaves it queued", async () => {
  const add = await runCli(["add", "noop", "--wait", "--timeout", "0.5", "--log-format", "human"], { config });
  assert.equal(add.code, 124, `no worker: exit 124; stderr:\n${tail(add.stderr)}`);
  const ref = Number(add.stdout.trim());
  assert.ok(ref > 0, `stdout is the ref: ${JSON.stringify(add.stdout)}`);
  assert.match(add.stderr, new RegExp(`gave up waiting after 0.5 s: job ${ref} has not ended yet`));
  const [row] = await env.db.query<{ status: string }>("SELECT status FROM job_queue WHERE ref = ?", [ref]);
  assert.equal(row?.status, "pending", "the job stays queued after the timeout");
  await runQueue(); // leave nothing pending for the next test
});

test("add --batch --wait exits 0 only if every job completed", async () => {
  const good = path.join(env.dir, "good.jsonl");
  const mixed = path.join(env.dir, "mixed.jsonl");
  fs.writeFileSync(good, ['{"type": "noop", "data": {}}', '{"type": "noop", "data": {"sleepMs": 100}}', '{"type": "noop"}'].join("\n"));
  fs.writeFileSync(mixed, ['{"type": "noop", "data": {}}', '{"type": "noop", "data": {"fail": "permanent"}}', '{"type": "noop"}'].join("\n"));
  for (const [file, expected] of [
    [good, 0],
    [mixed, 1],
  ] as const) {
    const before = await lastRef();
    const waiting = startAdd(["--batch", file, "--wait", "--log-format", "human"]);
    const refs = await addedRefs(before, 3);
    await assertStillWaiting(waiting, "the run started");
    await runQueue();
    const add = await waiting.result;
    assert.equal(add.code, expected, `${path.basename(file)}: exit ${expected} expected; stderr:\n${tail(add.stderr)}`);
    assert.equal(add.stdout, refs.map((r) => `${r}\n`).join(""), "one ref per line on stdout");
    assert.match(
      add.stderr,
      expected === 0 ? /batch: 3 complete, 0 failed, 0 cancelled of 3 job\(s\)/ : /batch: 2 complete, 1 failed, 0 cancelled of 3 job\(s\)/,
    );
  }
});

test(`jobs added without --user are labelled ${me}; --user and a batch line's "user": null are kept`, async () => {
  const batch = path.join(env.dir, "users.jsonl");
  fs.writeFileSync(batch, ['{"type": "noop"}', '{"type": "noop", "user": null}', '{"type": "noop", "user": "alice"}'].join("\n"));
  const plain = await runCli(["add", "noop"], { config });
  const named = await runCli(["add", "noop", "--user", "bob"], { config });
  const lines = await runCli(["add", "--batch", batch], { config });
  for (const result of [plain, named, lines]) assert.equal(result.code, 0, tail(result.stderr));
  const refs = [plain, named, lines].flatMap((r) => r.stdout.trim().split("\n").map(Number));
  const rows = await env.db.query<{ ref: number; user: string | null }>("SELECT ref, user FROM job_queue WHERE ref IN (?) ORDER BY ref", [refs]);
  assert.deepEqual(
    rows.map((r) => r.user),
    [me, "bob", me, null, "alice"],
  );
  const listed = await runCli(["list", "--user", me, "--json"], { config });
  assert.equal(listed.code, 0, tail(listed.stderr));
  const listedRefs = (JSON.parse(listed.stdout) as Array<{ ref: number }>).map((j) => j.ref);
  assert.ok(listedRefs.includes(refs[0]!) && listedRefs.includes(refs[2]!), `list --user ${me} finds the command line's jobs: ${listedRefs}`);
});

test("--timeout without --wait is a usage error", async () => {
  const add = await runCli(["add", "noop", "--timeout", "5"], { config });
  assert.equal(add.code, 2);
  assert.match(add.stderr, /--timeout needs --wait/);
});
