import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { collect, killTree, linesOf, makeTempDir, runCli, sleep, startCli, type CliResult } from "../helpers/cli.js";
import { tail } from "../helpers/environment.js";
import {
  CLUSTER_LEASE_SECONDS,
  clusterHostConfig,
  createClusterDatabase,
  galeraUnavailable,
  healCluster,
  lastJoin,
  nodePid,
  nodeWhere,
  restartMissingNodes,
  waitForCluster,
  type ClusterDatabase,
  type NodeNumber,
} from "../helpers/galera.js";

/**
 * docs/reliability.md, "A Galera cluster": jobs drained by two `offline-jobs run` lanes on each of
 * three simulated hosts, each host listing its own node of the loopback cluster first. While
 * they run: node 2 is killed (SIGKILL) and restarted (it must rejoin by IST), node 3 is frozen
 * (SIGSTOP) for longer than the lease and resumed, and every 1–2 s one run is SIGKILLed with
 * its process tree, as in the crash storm. Afterwards: every job complete exactly once in the
 * table, nothing running, no job lost; a job ran twice only if it was in flight in a killed run
 * or on the host of a killed or frozen node (both counted and printed); every run that was not
 * killed exited 0, those on the healthy nodes included (they ride out the cluster's pause while
 * it evicts the node); and every run that was using the killed or frozen node finished a job
 * through another node within CONTINUE_BOUND_S of the fault.
 *
 * Size: OJ_GALERA_JOBS jobs (300 in `npm test`, 3,000 in `npm run test:galera`). Skipped, saying
 * why, when the cluster is not running (`bash scripts/galera.sh start`; CI starts it).
 */

const unavailable = await galeraUnavailable();
const skip = unavailable ? `no Galera cluster: ${unavailable}` : false;
const JOBS = Number(process.env.OJ_GALERA_JOBS ?? 300);
const LEASE_SECONDS = CLUSTER_LEASE_SECONDS;
/**
 * How soon after its node was killed or frozen a run must have finished a job through another
 * node. What it is made of: noticing (a killed node's connections fail at once; a frozen one's
 * renewal waits STALL_MS = 3 s, then a probe PROBE_MS = 2 s, or a new connection times out after
 * 4 s), then the cluster's pause while it evicts the node (about 6.5 s from the fault, every
 * commit on every node waits), then the job's own remaining time (at most 1.8 × the mean, below).
 * Stated as the lease: a run that continues within it has lost none of its leases.
 */
const CONTINUE_BOUND_S = LEASE_SECONDS;
/** The faults take about 45 s; the jobs are sized to last about 60 s on 12 slots, whatever their number. */
const MEAN_JOB_MS = Math.max(150, Math.round((60_000 * 12) / JOBS));
const HOSTS: Array<{ host: string; node: NodeNumber }> = [
  { host: "host-a", node: 1 },
  { host: "host-b", node: 2 },
  { host: "host-c", node: 3 },
];

interface Lane {
  host: string;
  node: NodeNumber;
  config: string;
  lockDir: string;
  maxJobs: number;
  child?: ChildProcess;
  result?: Promise<CliResult>;
}

/** A run process of a lane: when it ran and what it said. */
interface RunRecord {
  pid: number;
  host: string;
  node: NodeNumber;
  startedAt: number;
  endedAt?: number;
  killed: boolean;
  stderr?: string;
}

interface Fault {
  what: string;
  node: NodeNumber;
  at: number;
  /** Jobs started and still running on the host that used the node, at the fault. */
  inFlight: number[];
}

let db: ClusterDatabase;
let dir: string;
before(async () => {
  if (skip) return;
  db = await createClusterDatabase();
  dir = makeTempDir("oj-galera-chaos-");
  const init = await runCli(["init"], { config: clusterHostConfig(dir, db, "init", 1) });
  assert.equal(init.code, 0, `init on the cluster failed:\n${init.stderr}`);
});
after(async () => {
  if (skip) return;
  await healCluster();
  await db?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The record handler's trace: each start of a job, by which process, when (Date.now()). */
const readRuns = (file: string) =>
  linesOf(file).map((line) => {
    const [ref, pid, at] = line.split(" ");
    return { ref: Number(ref), pid: Number(pid), at: Number(at) };
  });

function slotsHeldBy(lockDir: string, pid: number): number {
  let held = 0;
  for (const entry of fs.existsSync(lockDir) ? fs.readdirSync(lockDir) : []) {
    if (!/^slot-\d+\.owner$/.test(entry)) continue;
    try {
      if ((JSON.parse(fs.readFileSync(path.join(lockDir, entry), "utf8")) as { pid: number }).pid === pid) held++;
    } catch {
      // being written or removed
    }
  }
  return held;
}

test(
  `${JOBS} jobs, two runs on each of three nodes: a node SIGKILLed and restarted, a node frozen longer than the lease, runs SIGKILLed at random; every job complete exactly once, repeats only for jobs in flight at a kill`,
  { skip, timeout: 600_000 },
  async (t) => {
    const recordFile = path.join(dir, "runs.txt");
    const sleepFor = (i: number) => Math.round(MEAN_JOB_MS * (0.2 + (1.6 * ((i * 37) % 100)) / 100));
    await db.query("INSERT INTO job_queue (type, job_data) VALUES ?", [
      Array.from({ length: JOBS }, (_, i) => ["record", JSON.stringify({ file: recordFile, sleepMs: sleepFor(i) })]),
    ]);
    const refs = (await db.query<{ ref: number }>("SELECT ref FROM job_queue ORDER BY ref")).map((r) => Number(r.ref));

    const lanes: Lane[] = HOSTS.flatMap(({ host, node }) => {
      // A lost claim burns an attempt (docs/architecture.md): the cap is not what this test measures.
      const config = clusterHostConfig(dir, db, host, node, { types: { record: { maxAttempts: 50 } } });
      const lockDir = path.join(dir, `locks-${host}`);
      return [0, 1].map((k) => ({ host, node, config, lockDir, maxJobs: 2 * (k + 1) }));
    });
    const records: RunRecord[] = [];
    const failures: string[] = [];
    let finished = false;
    /** Hosts whose runs the storm spares for now: their node has just failed, and the test watches them continue. */
    const spared = new Set<string>();

    const keep = async (lane: Lane) => {
      while (!finished) {
        const child = startCli(["run", "--max-jobs", String(lane.maxJobs)], { config: lane.config });
        const record: RunRecord = { pid: child.pid!, host: lane.host, node: lane.node, startedAt: Date.now(), killed: false };
        records.push(record);
        lane.child = child;
        lane.result = collect(child, 600_000);
        const result = await lane.result;
        Object.assign(record, { endedAt: Date.now(), stderr: result.stderr });
        lane.child = undefined;
        if (result.signal === "SIGKILL") continue;
        if (result.code !== 0) failures.push(`run ${child.pid} on ${lane.host} exited ${result.code ?? result.signal}:\n${tail(result.stderr)}`);
        await sleep(/busy/.test(result.stderr) ? 400 : 1000);
      }
    };
    const keepers = lanes.map(keep);

    const processKills: Array<{ pid: number; inFlight: number[] }> = [];
    const faults: Fault[] = [];
    const inFlightOn = async (host: string, pid?: number) => {
      const held = (
        await db.query<{ ref: number }>("SELECT ref FROM job_queue WHERE status = 'running' AND locked_by LIKE ?", [pid ? `${host}:${pid}` : `${host}:%`])
      ).map((r) => Number(r.ref));
      const started = new Set(
        readRuns(recordFile)
          .filter((r) => !pid || r.pid === pid)
          .map((r) => r.ref),
      );
      return held.filter((ref) => started.has(ref));
    };
    const pending = async () => Number((await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status = 'pending'"))[0]!.n);
    const remaining = async () => Number((await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status <> 'complete'"))[0]!.n);

    const storm = async () => {
      while (!finished && (await pending()) > 0) {
        await sleep(1000 + Math.random() * 1000);
        const working = lanes.filter((lane) => !spared.has(lane.host) && lane.child?.pid && slotsHeldBy(lane.lockDir, lane.child.pid) > 0);
        const victim = working[Math.floor(Math.random() * working.length)];
        if (!victim) continue;
        const pid = victim.child!.pid!;
        const result = victim.result!;
        records.find((r) => r.pid === pid)!.killed = true;
        killTree(victim.child!, "SIGKILL");
        await result;
        processKills.push({ pid, inFlight: await inFlightOn(victim.host, pid) });
      }
    };

    /** Marks a fault on `node`: the host that uses it is spared by the storm while the test watches it continue. */
    const fault = async (what: string, node: NodeNumber, act: () => void) => {
      const host = HOSTS.find((h) => h.node === node)!.host;
      spared.add(host);
      act();
      const at = Date.now();
      faults.push({ what, node, at, inFlight: await inFlightOn(host) });
      setTimeout(() => spared.delete(host), (CONTINUE_BOUND_S + 2) * 1000).unref();
      return at;
    };

    const began = Date.now();
    let queueOutlastedFaults = false;
    let rejoin = "";
    try {
      const stormDone = storm();
      await sleep(5000);
      const killedPid = nodePid(2)!;
      await fault("SIGKILL", 2, () => process.kill(killedPid, "SIGKILL"));
      await sleep(6000);
      await restartMissingNodes();
      rejoin = lastJoin(2);
      await waitForCluster();
      const frozenPid = nodePid(3)!;
      await fault("SIGSTOP", 3, () => process.kill(frozenPid, "SIGSTOP"));
      await sleep((LEASE_SECONDS + 3) * 1000);
      process.kill(frozenPid, "SIGCONT");
      await waitForCluster();
      queueOutlastedFaults = (await pending()) > 0;
      await stormDone;
      const deadline = Date.now() + 120_000 + LEASE_SECONDS * 1000;
      while ((await remaining()) > 0) {
        assert.ok(
          Date.now() < deadline,
          `jobs still not complete two minutes after the storm: ${JSON.stringify(await db.query("SELECT status, COUNT(*) AS n FROM job_queue GROUP BY status"))}`,
        );
        await sleep(250);
      }
      t.diagnostic(`all complete after ${((Date.now() - began) / 1000).toFixed(1)} s`);
    } finally {
      finished = true;
      await Promise.all(keepers);
    }

    assert.equal(rejoin, "IST", "the killed node should rejoin by IST (only the writesets it missed), not a full state transfer");
    assert.ok(queueOutlastedFaults, "jobs were still pending when the frozen node came back: the faults happened while the queue was being drained");
    assert.deepEqual(failures, [], "every run that was not killed should exit 0, those on the healthy nodes included");
    const byStatus = await db.query<{ status: string; n: number }>("SELECT status, COUNT(*) AS n FROM job_queue GROUP BY status");
    assert.deepEqual(
      byStatus.map((r) => [r.status, Number(r.n)]),
      [["complete", JOBS]],
      `every job should be complete and none running: ${JSON.stringify(byStatus)}`,
    );

    const runs = readRuns(recordFile);
    const runsOf = new Map<number, number>();
    for (const { ref } of runs) runsOf.set(ref, (runsOf.get(ref) ?? 0) + 1);
    const lost = refs.filter((ref) => !runsOf.has(ref));
    assert.deepEqual(lost, [], `jobs complete whose handler never ran (lost): ${lost.slice(0, 20).join(", ")}`);

    // Repeats: only jobs in flight in a killed run, or on the host of a failed node at its fault.
    const allowed = new Map<number, number>();
    for (const ref of [...processKills.flatMap((k) => k.inFlight), ...faults.flatMap((f) => f.inFlight)]) allowed.set(ref, (allowed.get(ref) ?? 0) + 1);
    const repeats = runs.length - JOBS;
    const repeated = [...runsOf].filter(([, n]) => n > 1);
    const atProcessKills = new Set(processKills.flatMap((k) => k.inFlight));
    const atNodeFaults = new Set(faults.flatMap((f) => f.inFlight));
    const unexplained = repeated.filter(([ref, n]) => n - 1 > (allowed.get(ref) ?? 0));

    // Continued within the bound: every run that used the failed node and was alive from the
    // fault to the end of the bound (the storm spares its host meanwhile) started a job after the
    // fault, which it can only do once a claim has committed, through another node.
    const continued: string[] = [];
    const late: string[] = [];
    for (const f of faults) {
      const host = HOSTS.find((h) => h.node === f.node)!.host;
      const watched = records.filter((r) => r.host === host && r.startedAt < f.at && (r.endedAt ?? Infinity) > f.at + CONTINUE_BOUND_S * 1000);
      for (const run of watched) {
        const moved = (run.stderr ?? "").split("\n").find((line) => line.includes(`database node ${nodeWhere(f.node)}`) && line.includes("moving to"));
        const next = runs.filter((r) => r.pid === run.pid && r.at > f.at).sort((a, b) => a.at - b.at)[0];
        const after = next && (next.at - f.at) / 1000;
        const what = `run ${run.pid} on ${host} after node ${f.node}'s ${f.what}`;
        if (!moved) late.push(`${what}: no line saying it moved`);
        else if (after === undefined || after > CONTINUE_BOUND_S)
          late.push(`${what}: next job started ${after === undefined ? "never" : `${after.toFixed(1)} s`} after`);
        else continued.push(`${host}:${run.pid} ${after.toFixed(1)} s after the ${f.what}`);
      }
    }

    if (process.env.OJ_GALERA_DEBUG)
      for (const f of faults) {
        const host = HOSTS.find((h) => h.node === f.node)!.host;
        console.log(
          f.what,
          records
            .filter((r) => r.host === host && Math.abs(r.startedAt - f.at) < 40_000)
            .map(
              (r) =>
                `${r.pid} ${((r.startedAt - f.at) / 1000).toFixed(1)}..${(((r.endedAt ?? 0) - f.at) / 1000).toFixed(1)} ${r.killed ? "killed" : ""} ${/moving to/.test(r.stderr ?? "") ? "moved" : ""}`,
            ),
        );
      }
    const attempts = await db.query<{ attempts: number; n: number }>("SELECT attempts, COUNT(*) AS n FROM job_queue GROUP BY attempts ORDER BY attempts");
    const report =
      `galera chaos: ${JOBS} jobs (mean ${MEAN_JOB_MS} ms), ${records.length} runs started, ${processKills.length} SIGKILLed; ` +
      `node 2 SIGKILLed and rejoined by ${rejoin}, node 3 frozen ${LEASE_SECONDS + 3} s; ${runs.length} handler runs = ${repeats} repeats ` +
      `(jobs in flight at run kills: ${atProcessKills.size}, on a failed node's host: ${atNodeFaults.size}); ` +
      `continued on another node: ${continued.join(", ") || "none watched"}; attempts per job: ${attempts.map((a) => `${a.attempts}×${a.n}`).join(", ")}`;
    t.diagnostic(report);
    console.log(report);
    assert.deepEqual(
      unexplained.map(([ref, n]) => `job ${ref} ran ${n} times, in flight at ${allowed.get(ref) ?? 0} kill(s) or fault(s)`),
      [],
      "every repeat must belong to a job in flight in a killed run or on a failed node's host",
    );
    assert.deepEqual(late, [], `every run on a failed node should continue on another node within ${CONTINUE_BOUND_S} s`);
    assert.ok(continued.length > 0, "at least one run should have been watched continuing after a node fault (were they all killed or ended?)");
  },
);
