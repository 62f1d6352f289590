import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { collect, killTree, sleep, startCli, type CliResult } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";
import { slotsHeldBy } from "../helpers/slot-owners.js";

/**
 * docs/reliability.md, "Crashes": thousands of `record` jobs, 8 overlapping `offline-jobs run` processes
 * on 2 simulated hosts, and every 1–2 s one run that holds slots is SIGKILLed with its whole
 * process tree and replaced, with the default maxAttempts. Afterwards: nothing running, no job
 * lost, the only repeats are jobs that were in flight in a killed run, and every job complete
 * except one that was in flight at as many kills as it may have attempts (failed as "worker
 * lost"): a job is never charged for the death of a run that had only claimed it.
 *
 * "In flight" is measured, not assumed: right after each kill (the run reaped, its lease
 * still valid, so nobody has touched its rows yet) it is the jobs whose handler the killed
 * process had started (the record file) and whose row is still running under its name (the
 * outcome never reached the database). Jobs it had claimed but not started are not in
 * flight: they go back to pending when their lease expires and run once. So the honest
 * bound is repeats ≤ Σ in flight, per job as well as in total. That figure is at most the
 * killed run's slots plus the outcomes waiting in its Finisher's group commit, so `slots ×
 * kills` is what to expect, not a guarantee; both are reported.
 *
 * Size: OJ_CHAOS_JOBS jobs (default 600 in the normal suite; `npm run test:chaos` runs 3,000).
 */

const env = useTestEnvironment("oj-storm-");

const JOBS = Number(process.env.OJ_CHAOS_JOBS ?? 600);
/** Long enough that a live run's heartbeat keeps its leases on a loaded 2-core machine. */
const LEASE_SECONDS = 5;
const HOSTS = ["host-a", "host-b"] as const;
/** Four runs per host; run k may take slots up to 2(k+1): about two slots each, eight per host. */
const LANES_PER_HOST = 4;

interface Lane {
  host: string;
  config: string;
  lockDir: string;
  maxJobs: number;
  child?: ChildProcess;
  result?: Promise<CliResult>;
}

interface Kill {
  pid: number;
  slots: number;
  /** Rows still running under the killed process's name. */
  held: number;
  /** Of those, the jobs whose handler it had started. */
  inFlight: number[];
}

const readRuns = (file: string) =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          const [ref, pid] = line.split(" ");
          return { ref: Number(ref), pid: Number(pid) };
        })
    : [];

/** Jobs of a short and a long kind mixed, so runs switch between claiming ahead (short jobs) and not. */
const sleepFor = (i: number) => (i % 4 === 3 ? 500 + ((i * 37) % 400) : 10 + ((i * 7) % 20));

test(
  `a crash storm: ${JOBS} jobs, 8 overlapping runs on 2 hosts, one run SIGKILLed every 1–2 s: every job completes (or fails as lost after dying with its runs), none lost, repeats only for jobs in flight at a kill`,
  { timeout: 120_000 + JOBS * 60 },
  async (t) => {
    const recordFile = path.join(env.dir, "runs.txt");
    const rows = Array.from({ length: JOBS }, (_, i) => ["record", JSON.stringify({ file: recordFile, sleepMs: sleepFor(i) })]);
    for (let at = 0; at < rows.length; at += 5000) await env.db.query("INSERT INTO job_queue (type, job_data) VALUES ?", [rows.slice(at, at + 5000)]);
    const refs = (await env.db.query<{ ref: number }>("SELECT ref FROM job_queue ORDER BY ref")).map((r) => Number(r.ref));
    assert.equal(refs.length, JOBS);

    const lanes: Lane[] = HOSTS.flatMap((host) => {
      // The default maxAttempts (3): a killed run's jobs that it had claimed ahead and not
      // started are not charged for its death (src/runner/loop/start-marks.ts).
      const config = hostConfig(env, host, { leaseSeconds: LEASE_SECONDS });
      const lockDir = JSON.parse(fs.readFileSync(config, "utf8")).lockDir as string;
      return Array.from({ length: LANES_PER_HOST }, (_, k) => ({ host, config, lockDir, maxJobs: 2 * (k + 1) }));
    });

    let finished = false;
    let started = 0;
    const failures: string[] = [];
    // Each lane keeps one run going: replaced at once when killed, started again shortly when
    // it found no free slot or nothing due, until every job is complete.
    const keep = async (lane: Lane) => {
      while (!finished) {
        const child = startCli(["run", "--max-jobs", String(lane.maxJobs)], { config: lane.config });
        started++;
        lane.child = child;
        lane.result = collect(child, 600_000);
        const result = await lane.result;
        lane.child = undefined;
        if (result.signal === "SIGKILL") continue;
        if (result.code !== 0) failures.push(`run ${child.pid} on ${lane.host} exited ${result.code ?? result.signal}:\n${tail(result.stderr)}`);
        await sleep(/busy/.test(result.stderr) ? 400 : 1000);
      }
    };
    const keepers = lanes.map(keep);

    const kills: Kill[] = [];
    // Ended: complete, or failed as lost (a job in flight at as many kills as it has attempts).
    const remaining = async () =>
      Number((await env.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status NOT IN ('complete', 'failed')"))[0]!.n);
    const pending = async () => Number((await env.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status = 'pending'"))[0]!.n);
    const began = Date.now();
    try {
      // The storm lasts while jobs are still waiting to be claimed.
      while ((await pending()) > 0) {
        await sleep(1000 + Math.random() * 1000);
        const working = lanes.filter((lane) => lane.child?.pid && slotsHeldBy(lane.lockDir, lane.child.pid) > 0);
        const victim = working[Math.floor(Math.random() * working.length)];
        if (!victim) continue;
        const pid = victim.child!.pid!;
        const slots = slotsHeldBy(victim.lockDir, pid);
        const result = victim.result!;
        killTree(victim.child!, "SIGKILL");
        await result;
        const held = (
          await env.db.query<{ ref: number }>("SELECT ref FROM job_queue WHERE status = 'running' AND locked_by = ?", [`${victim.host}:${pid}`])
        ).map((r) => Number(r.ref));
        const startedThere = new Set(
          readRuns(recordFile)
            .filter((r) => r.pid === pid)
            .map((r) => r.ref),
        );
        kills.push({ pid, slots, held: held.length, inFlight: held.filter((ref) => startedThere.has(ref)) });
      }
      const stormSeconds = (Date.now() - began) / 1000;
      // What the last killed runs held comes back when their leases expire; the lanes' runs pick it up.
      const deadline = Date.now() + 60_000 + LEASE_SECONDS * 1000;
      while ((await remaining()) > 0) {
        assert.ok(
          Date.now() < deadline,
          `jobs still not complete a minute after the storm: ${JSON.stringify(await env.db.query("SELECT status, COUNT(*) AS n FROM job_queue GROUP BY status"))}`,
        );
        await sleep(250);
      }
      t.diagnostic(`storm: ${stormSeconds.toFixed(1)} s, all complete after ${((Date.now() - began) / 1000).toFixed(1)} s`);
    } finally {
      finished = true;
      // Runs end by themselves once nothing is due; a run that does not is killed by collect()'s timeout.
      await Promise.all(keepers);
    }

    assert.deepEqual(failures, [], `runs that were not killed should exit 0:\n${failures.join("\n")}`);
    const byStatus = await env.db.query<{ status: string; error: string | null; n: number }>(
      "SELECT status, error, COUNT(*) AS n FROM job_queue GROUP BY status, error ORDER BY status",
    );
    assert.deepEqual(
      byStatus.filter((r) => r.status !== "complete" && !(r.status === "failed" && r.error === "worker lost: lease expired")),
      [],
      `every job should be complete (or failed as lost after dying with its runs) and none running: ${JSON.stringify(byStatus)}`,
    );
    assert.ok(kills.length >= 2, `the storm should have killed at least two runs (it killed ${kills.length}); is the machine too slow to start runs?`);

    const runs = readRuns(recordFile);
    const runsOf = new Map<number, number>();
    for (const { ref } of runs) runsOf.set(ref, (runsOf.get(ref) ?? 0) + 1);
    const lost = refs.filter((ref) => !runsOf.has(ref));
    assert.deepEqual(lost, [], `jobs complete whose handler never ran (lost): ${lost.slice(0, 20).join(", ")}`);
    const strangers = [...runsOf.keys()].filter((ref) => ref < refs[0]! || ref > refs.at(-1)!);
    assert.deepEqual(strangers, [], "the record file names jobs that were never queued");

    const inFlightAt = new Map<number, number>();
    for (const kill of kills) for (const ref of kill.inFlight) inFlightAt.set(ref, (inFlightAt.get(ref) ?? 0) + 1);
    // A job fails as "worker lost" only once it has started as many times as it may, each
    // time in a run that was killed with it: never for the deaths of runs that had only
    // claimed it ahead.
    const lostFailed = (await env.db.query<{ ref: number; attempts: number }>("SELECT ref, attempts FROM job_queue WHERE status = 'failed'")).map((r) => ({
      ref: Number(r.ref),
      attempts: r.attempts,
    }));
    assert.deepEqual(
      lostFailed
        .filter(({ ref }) => (runsOf.get(ref) ?? 0) === 0 || runsOf.get(ref) !== inFlightAt.get(ref))
        .map(({ ref, attempts }) => `job ${ref}: ${attempts} attempts, ran ${runsOf.get(ref) ?? 0} time(s), in flight at ${inFlightAt.get(ref) ?? 0} kill(s)`),
      [],
      "a job failed as 'worker lost' must have started, each of its runs in a run that was killed with it",
    );
    const unexplained = [...runsOf].filter(([ref, n]) => n - 1 > (inFlightAt.get(ref) ?? 0));
    const repeats = runs.length - JOBS;
    const inFlight = kills.reduce((a, k) => a + k.inFlight.length, 0);
    const held = kills.reduce((a, k) => a + k.held, 0);
    const slots = kills.reduce((a, k) => a + k.slots, 0);
    const attempts = await env.db.query<{ attempts: number; n: number }>("SELECT attempts, COUNT(*) AS n FROM job_queue GROUP BY attempts ORDER BY attempts");
    const report =
      `crash storm: ${JOBS} jobs, ${started} runs started, ${kills.length} SIGKILLed (holding ${slots} slots and ${held} claimed jobs in all); ` +
      `${runs.length} handler runs = ${repeats} repeats; jobs in flight at the kills: ${inFlight}; failed as lost: ${lostFailed.length}; ` +
      `attempts per job: ${attempts.map((a) => `${a.attempts}×${a.n}`).join(", ")}`;
    t.diagnostic(report);
    console.log(report);
    assert.deepEqual(
      unexplained.map(([ref, n]) => `job ${ref} ran ${n} times, in flight at ${inFlightAt.get(ref) ?? 0} kill(s)`),
      [],
      "every repeat must belong to a job in flight at a kill (a repeat without a kill means a live run lost its lease, or a claim was not exclusive)",
    );
    assert.ok(repeats <= inFlight, `repeats (${repeats}) must not exceed the jobs in flight at the kills (${inFlight})`);
  },
);
