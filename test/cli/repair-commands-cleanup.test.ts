import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterEach, test } from "node:test";
import { BIN, runCli } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * Deleting jobs: `clear` (finished jobs of a user or of all; --everything with its
 * confirmation), `purge --older-than`, and the retention purge of every run.
 */

let config: string;
let retentionConfig: string;
const env = useTestEnvironment("oj-cleanup-", (e) => {
  config = hostConfig(e, "host-a");
  retentionConfig = hostConfig(e, "host-a", { retention: { completeDays: 7, failedDays: 30 } }, "retention");
});

afterEach(async () => {
  await env.db.query("DELETE FROM job_queue");
  // Retention runs at most once a minute across hosts; each test starts with a fresh turn.
  await env.db.query("DELETE FROM job_queue_state WHERE name = 'retention'");
});

const FAR_FUTURE = "2999-01-01 00:00:00";

/** A job that finished `days` ago (by the database's clock), as a run would have left it. */
async function finishedDaysAgo(status: "complete" | "failed" | "cancelled", days: number, columns: Record<string, unknown> = {}): Promise<number> {
  const ref = await env.db.insertJob("noop", {}, { status, attempts: 1, ...columns });
  await env.db.query("UPDATE job_queue SET finished_at = NOW(3) - INTERVAL ? DAY WHERE ref = ?", [days, ref]);
  return ref;
}

async function remaining(): Promise<number[]> {
  const rows = await env.db.query<{ ref: number }>("SELECT ref FROM job_queue ORDER BY ref");
  return rows.map((row) => Number(row.ref));
}

test("clear --user deletes only that user's finished jobs; --all everyone's; active and still-stopping jobs stay", async () => {
  const aliceDone = await finishedDaysAgo("complete", 0, { user: "alice" });
  const aliceFailed = await finishedDaysAgo("failed", 0, { user: "alice" });
  const alicePending = await env.db.insertJob("noop", {}, { user: "alice", run_after: FAR_FUTURE });
  const bobCancelled = await finishedDaysAgo("cancelled", 0, { user: "bob" });
  const running = await env.db.insertJob("noop", {}, { status: "running", lease_until: FAR_FUTURE });
  // Cancelled while running; its process has not yet recorded the stop, so it is not finished.
  const stopping = await env.db.insertJob("noop", {}, { status: "cancelled", locked_by: "host-b:1", lease_until: FAR_FUTURE });

  const alice = await runCli(["clear", "--user", "alice"], { config });
  assert.equal(alice.code, 0, tail(alice.stderr));
  assert.equal(alice.stdout, "2\n", "clear prints how many jobs it deleted");
  assert.deepEqual(await remaining(), [alicePending, bobCancelled, running, stopping], `alice's finished jobs ${aliceDone} and ${aliceFailed} are gone`);

  const all = await runCli(["clear", "--all"], { config });
  assert.equal(all.code, 0, tail(all.stderr));
  assert.equal(all.stdout, "1\n");
  assert.deepEqual(await remaining(), [alicePending, running, stopping], "only pending, running and still-stopping jobs are left");

  for (const args of [["clear"], ["clear", "--all", "--user", "bob"], ["clear", "--all", "--yes"], ["clear", "--everything", "--all"]]) {
    assert.equal((await runCli(args, { config })).code, 2, `${args.join(" ")} is a usage error`);
  }
});

test("clear --everything refuses without --yes when stdin is not a terminal, warns about running jobs, and with --yes deletes every job", async () => {
  await env.db.insertJob("noop", {}, { run_after: FAR_FUTURE });
  await env.db.insertJob("noop", {}, { status: "running", lease_until: FAR_FUTURE });
  await finishedDaysAgo("failed", 3);

  const refused = await runCli(["clear", "--everything"], { config });
  assert.equal(refused.code, 2, "without --yes and without a terminal to ask on, it is a usage error");
  assert.match(refused.stderr, /clear --everything would delete all 3 job\(s\): add --yes to confirm/);
  assert.match(refused.stderr, /1 of the 3 job\(s\) are running: their processes will abandon them at their next heartbeat/);
  assert.equal((await remaining()).length, 3, "nothing was deleted");

  const cleared = await runCli(["clear", "--everything", "--yes"], { config });
  assert.equal(cleared.code, 0, tail(cleared.stderr));
  assert.equal(cleared.stdout, "3\n");
  assert.deepEqual(await remaining(), []);
});

/** Runs `offline-jobs ARGS` on a pseudo-terminal (util-linux `script`), typing `answer`. */
function onTerminal(args: string[], answer: string) {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(" ");
  return spawnSync("script", ["-qec", command, "/dev/null"], {
    input: answer,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, OFFLINE_JOBS_CONFIG: config },
  });
}

const hasScript = spawnSync("script", ["--version"]).status === 0;

test(
  "clear --everything on a terminal asks first, and deletes only when the answer is yes",
  { skip: !hasScript && "util-linux script is not installed" },
  async () => {
    await env.db.insertJob("noop", {}, { run_after: FAR_FUTURE });
    await env.db.insertJob("noop", {}, { run_after: FAR_FUTURE });

    const declined = onTerminal(["clear", "--everything"], "n\n");
    assert.match(declined.stdout, /Delete all 2 job\(s\)\? \[y\/N\]/, "it asks, naming how many");
    assert.match(declined.stdout, /not confirmed: nothing was deleted/);
    assert.equal(declined.status, 1, "declining is not success");
    assert.equal((await remaining()).length, 2, "a no keeps every job");

    const confirmed = onTerminal(["clear", "--everything"], "y\n");
    assert.equal(confirmed.status, 0, confirmed.stdout);
    assert.deepEqual(await remaining(), [], "a yes deletes them");
  },
);

test("purge --older-than deletes finished jobs by the age of finished_at, of the statuses asked for", async () => {
  const oldComplete = await finishedDaysAgo("complete", 10);
  const newComplete = await finishedDaysAgo("complete", 1);
  const oldFailed = await finishedDaysAgo("failed", 10);
  const oldCancelled = await finishedDaysAgo("cancelled", 10);
  // Created long ago but still waiting: never purged, whatever its age.
  const oldPending = await env.db.insertJob("noop", {}, { run_after: FAR_FUTURE });
  await env.db.query("UPDATE job_queue SET created_at = NOW(3) - INTERVAL 10 DAY WHERE ref = ?", [oldPending]);

  const complete = await runCli(["purge", "--older-than", "5", "--status", "complete"], { config });
  assert.equal(complete.code, 0, tail(complete.stderr));
  assert.equal(complete.stdout, "1\n");
  assert.deepEqual(await remaining(), [newComplete, oldFailed, oldCancelled, oldPending], `only the old complete job ${oldComplete} is gone`);

  const inactive = await runCli(["purge", "--older-than", "5"], { config });
  assert.equal(inactive.code, 0, tail(inactive.stderr));
  assert.equal(inactive.stdout, "2\n", "by default failed and cancelled jobs are purged too");
  assert.deepEqual(await remaining(), [newComplete, oldPending]);

  const fraction = await runCli(["purge", "--older-than", "0.5"], { config });
  assert.equal(fraction.stdout, "1\n", "a day's fraction is allowed: the job finished a day ago goes");

  for (const args of [["purge"], ["purge", "--older-than", "-1"], ["purge", "--older-than", "ten"], ["purge", "--older-than", "5", "--status", "pending"]]) {
    assert.equal((await runCli(args, { config })).code, 2, `${args.join(" ")} is a usage error`);
  }
});

test("retention deletes old complete, failed and cancelled jobs during a run, and keeps recent ones", async () => {
  const runs = path.join(env.dir, "retention.runs");
  const oldComplete = await finishedDaysAgo("complete", 8);
  const recentComplete = await finishedDaysAgo("complete", 2);
  const recentFailed = await finishedDaysAgo("failed", 20);
  const oldFailed = await finishedDaysAgo("failed", 40);
  const oldCancelled = await finishedDaysAgo("cancelled", 40);
  const pending = await env.db.insertJob("record", { file: runs });

  const without = await runCli(["run"], { config });
  assert.equal(without.code, 0, tail(without.stderr));
  assert.equal((await remaining()).length, 6, "without retention settings every job is kept");
  await env.db.query("DELETE FROM job_queue_state WHERE name = 'retention'");

  const run = await runCli(["run"], { config: retentionConfig });
  assert.equal(run.code, 0, tail(run.stderr));
  assert.deepEqual(
    await remaining(),
    [recentComplete, recentFailed, pending],
    `jobs ${oldComplete} (complete, 8 days), ${oldFailed} (failed, 40 days) and ${oldCancelled} (cancelled, 40 days) are deleted`,
  );
  assert.match(run.stderr, /housekeeping: deleted 1 complete job\(s\) finished over 7 day\(s\) ago/);
  assert.match(run.stderr, /housekeeping: deleted 2 failed or cancelled job\(s\) finished over 30 day\(s\) ago/);

  // Across all hosts the purge runs at most once a minute: the next run leaves a new old job alone.
  const another = await finishedDaysAgo("complete", 8);
  assert.equal((await runCli(["run"], { config: retentionConfig })).code, 0);
  assert.ok((await remaining()).includes(another), "a run within the minute does not purge again");
});

test("a job cancelled while running whose process vanished gets its finished_at at the next run, and is then purgeable", async () => {
  const orphan = await env.db.insertJob("noop", {}, { status: "cancelled", locked_by: "host-gone:1", lease_until: "2020-01-01 00:00:00" });
  assert.equal((await runCli(["run"], { config })).code, 0);
  const [row] = await env.db.query<{ finished_at: string | null; lease_until: string | null }>("SELECT finished_at, lease_until FROM job_queue WHERE ref = ?", [
    orphan,
  ]);
  assert.ok(row?.finished_at, "housekeeping records the end nobody else will");
  assert.equal(row?.lease_until, null);
  const purge = await runCli(["purge", "--older-than", "0"], { config });
  assert.equal(purge.stdout, "1\n");
});
