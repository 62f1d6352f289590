import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { afterEach, test } from "node:test";
import { collect, killTree, linesOf, runCli, sleep, startCli, waitFor } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * SECURITY.md, Subprocesses: a runner SIGKILLed mid-job leaves its job's subprocesses running
 * (they run detached, in groups of their own). On this host, the job's next attempt ends that
 * orphaned group before it starts, and a dead holder's job lock is taken over at once rather
 * than after proper-lockfile's staleness.
 */

const env = useTestEnvironment("oj-orphans-");

/** Long enough that a live run's heartbeat keeps its lease on a loaded 2-core machine. */
const LEASE_SECONDS = 5;

/** Process groups the tests' commands started: whatever a failed test left running is killed after it. */
const groups = new Set<number>();

afterEach(async () => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // ended, as it should be
    }
  }
  groups.clear();
  await env.db.query("DELETE FROM job_queue");
});

/**
 * Appends "start PID" (the shell, leader of the job's process group) and "child PID" (its
 * sleep) to the trace, then "end PID" when it finishes. First, it appends "overlap PID" for
 * every earlier process of the trace that still runs: two attempts side by side.
 */
const SCRIPT = [
  'for pid in $(sed -n "s/^\\(start\\|child\\) //p" "$1"); do',
  '  if [ -e /proc/$pid ] && ! grep -q "^State:[[:space:]]*Z" /proc/$pid/status; then echo "overlap $pid" >> "$1"; fi',
  "done",
  'echo "start $$" >> "$1"',
  'sleep "$2" & echo "child $!" >> "$1"',
  "wait",
  'echo "end $$" >> "$1"',
].join("\n");

function setup(name: string, overrides: Record<string, unknown> = {}) {
  const config = hostConfig(
    env,
    "host-a",
    {
      leaseSeconds: LEASE_SECONDS,
      paths: { writeRoots: [env.dir] },
      commands: {
        slow: { argv: ["sh", "-c", SCRIPT, "slow", "{trace}", "{seconds}"], args: { trace: "write", seconds: { pattern: "[0-9.]+" } }, timeoutSeconds: 300 },
      },
      types: { command: { maxAttempts: 3, backoff: { initialSeconds: 0, maxSeconds: 0 } } },
      ...overrides,
    },
    name,
  );
  return { config, trace: path.join(env.dir, `${name}.trace`), lockDir: path.join(env.dir, `locks-${name}`) };
}

/** Runs, and is neither gone nor a zombie nobody will reap. */
function runs(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

const pidsOf = (trace: string, word: string) =>
  linesOf(trace)
    .filter((line) => line.startsWith(`${word} `))
    .map((line) => Number(line.split(" ")[1]));

const row = async (ref: number) =>
  (await env.db.query<{ status: string; attempts: number; log: string | null }>("SELECT status, attempts, log FROM job_queue WHERE ref = ?", [ref]))[0]!;

const leaseExpired = async (ref: number) => (await env.db.query("SELECT ref FROM job_queue WHERE ref = ? AND lease_until < NOW(3)", [ref])).length > 0;

/** Starts `args`, waits until the job's command has started its sleep, then SIGKILLs the runner's own process group. */
async function crashDuringCommand(args: string[], config: string, trace: string): Promise<{ leader: number; child: number }> {
  const runner = startCli(args, { config });
  const ended = collect(runner, 60_000);
  await waitFor(() => pidsOf(trace, "child").length === 1, "the command to start", 20_000);
  // The job lock and its record are written as the subprocess starts; a moment for the write.
  await sleep(300);
  killTree(runner, "SIGKILL");
  assert.equal((await ended).signal, "SIGKILL", "the runner should have been killed");
  const leader = pidsOf(trace, "start")[0]!;
  groups.add(leader);
  return { leader, child: pidsOf(trace, "child")[0]! };
}

test("a retry after a SIGKILLed runner first ends the process group its attempt left running: never two attempts at once", { timeout: 90_000 }, async () => {
  const { config, trace } = setup("retry");
  const ref = await env.db.insertJob("command", { command: "slow", args: { trace, seconds: "60" } });
  const orphan = await crashDuringCommand(["run"], config, trace);
  assert.ok(runs(orphan.leader) && runs(orphan.child), "the first attempt's command outlives its SIGKILLed runner (it runs in a group of its own)");

  // The second attempt is quick; wait until the lease says the first one is lost.
  await env.db.query("UPDATE job_queue SET job_data = ? WHERE ref = ?", [JSON.stringify({ command: "slow", args: { trace, seconds: "0.1" } }), ref]);
  await waitFor(() => leaseExpired(ref), "the lease to expire", LEASE_SECONDS * 1000 + 5_000);
  assert.ok(runs(orphan.leader), "the orphan still runs when the lease has expired");

  const next = await runCli(["run"], { config, timeoutMs: 30_000 });
  assert.equal(next.code, 0, `the run after the lease expired failed; stderr:\n${tail(next.stderr)}`);
  const done = await row(ref);
  assert.equal(done.status, "complete", `the job should complete on its second attempt; stderr:\n${tail(next.stderr)}`);
  assert.equal(done.attempts, 2);
  const lines = linesOf(trace);
  assert.deepEqual(
    lines.filter((line) => line.startsWith("overlap")),
    [],
    `the second attempt started while the first one's processes still ran; trace:\n${lines.join("\n")}`,
  );
  assert.deepEqual(pidsOf(trace, "end"), [pidsOf(trace, "start")[1]], `only the second attempt may finish; trace:\n${lines.join("\n")}`);
  assert.ok(!runs(orphan.leader) && !runs(orphan.child), `the orphaned group (${orphan.leader}, ${orphan.child}) should have been ended`);
  assert.match(
    next.stderr,
    new RegExp(`job ${ref}: ended process group\\(s\\) ${orphan.leader}, left running by its attempt in host-a:\\d+, which died`),
    `the run should say which orphans it ended; stderr:\n${tail(next.stderr)}`,
  );
});

test("run --job right after the lease of a SIGKILLed holder expires runs the job at once, its lock taken over", { timeout: 90_000 }, async () => {
  // A job lock left by a dead process would stay for a minute if only its staleness freed it.
  const { config, trace, lockDir } = setup("job", { lockStaleSeconds: 60 });
  const ref = await env.db.insertJob("command", { command: "slow", args: { trace, seconds: "60" } });
  const orphan = await crashDuringCommand(["run", "--job", String(ref)], config, trace);
  assert.ok(fs.existsSync(path.join(lockDir, `job-${ref}.lock`)), "the dead holder's job lock is left behind");

  await env.db.query("UPDATE job_queue SET job_data = ? WHERE ref = ?", [JSON.stringify({ command: "slow", args: { trace, seconds: "0.1" } }), ref]);
  await waitFor(() => leaseExpired(ref), "the lease to expire", LEASE_SECONDS * 1000 + 5_000);

  const started = Date.now();
  const again = await runCli(["run", "--job", String(ref)], { config, timeoutMs: 30_000 });
  const output = `${again.stdout}\n${again.stderr}`;
  assert.equal(again.code, 0, `run --job ${ref} should run the job at once; output:\n${tail(output)}`);
  assert.ok(Date.now() - started < 15_000, `run --job took ${Date.now() - started} ms: it waited for the dead holder's lock`);
  assert.doesNotMatch(output, /putting it back|pending again/, "the job must not be put back for a lock whose holder is dead");
  const done = await row(ref);
  assert.deepEqual([done.status, done.attempts], ["complete", 2], `the job should complete on its second attempt; output:\n${tail(output)}`);
  assert.match(done.log ?? "", /attempt 1 lost: the lease of host-a:\d+ expired; re-queued/, "run --job recovered the expired lease itself");
  assert.deepEqual(
    linesOf(trace).filter((line) => line.startsWith("overlap")),
    [],
    `the attempts overlapped; trace:\n${linesOf(trace).join("\n")}`,
  );
  assert.ok(!runs(orphan.leader) && !runs(orphan.child), "the dead holder's subprocesses should have been ended first");
});
