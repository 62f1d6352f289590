import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import { after, before } from "node:test";
import path from "node:path";
import { collect, killTree, linesOf, makeTempDir, runCli, sleep, startCli, type CliResult } from "../helpers/cli.js";
import { tail } from "../helpers/environment.js";
import { slotsHeldBy } from "../helpers/slot-owners.js";
import {
  CLUSTER_LEASE_SECONDS,
  clusterHostConfig,
  createClusterDatabase,
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
 * The storm both cluster chaos tests share (node-chaos.test.ts with `run`, worker-chaos.test.ts
 * with `work` and `restart`): jobs of the `record` test type drained by two lanes on each of three
 * simulated hosts, each host listing its own node first; while they run, node 2 is SIGKILLed and
 * restarted (rejoining by IST), node 3 is frozen (SIGSTOP) for longer than the lease and resumed,
 * and every 1–2 s one lane's process is SIGKILLed with its tree, as in the crash storm. Each lane
 * keeps a process going: started again at once after a kill, shortly after it ended.
 */

export const LEASE_SECONDS = CLUSTER_LEASE_SECONDS;
/**
 * How soon after its node was killed or frozen a process must start a job again (which it can
 * only do once a claim has committed, so through another node). What it is made of: noticing (a
 * killed node's connections fail at once; a frozen one's renewal waits STALL_MS = 3 s, then a
 * probe PROBE_MS = 2 s, or a new connection times out after 4 s), and the cluster's pause while it
 * evicts the node (about 6.5 s from the fault; every commit on every node waits), which the
 * noticing overlaps. Measured: 5.8–6.5 s after a SIGKILL, 6.0–8.1 s after a SIGSTOP; 12 s leaves room for
 * a loaded 2-core machine, and is within the lease, so a process that continues in time has lost
 * none of its jobs.
 */
export const CONTINUE_BOUND_S = 12;

/** How long before a node fault the storm spares the host that uses it. */
const SPARE_BEFORE_MS = 3000;

export const HOSTS: Array<{ host: string; node: NodeNumber }> = [
  { host: "host-a", node: 1 },
  { host: "host-b", node: 2 },
  { host: "host-c", node: 3 },
];

/** A lane's process: when it ran and what it said. */
export interface ProcessRecord {
  pid: number;
  host: string;
  startedAt: number;
  endedAt?: number;
  result?: CliResult;
}

export interface Fault {
  what: string;
  node: NodeNumber;
  at: number;
  /** Jobs started and still running on the host that used the node, at the fault. */
  inFlight: number[];
  /** That host's processes holding job slots at the fault: those that must continue elsewhere. */
  working: number[];
}

export interface StormOptions {
  db: ClusterDatabase;
  dir: string;
  jobs: number;
  /** The lane's command, given its slots: ["run", "--max-jobs", …] or ["work", …]. */
  command: (maxJobs: number) => string[];
  /** Whether a process that exited this way is fine (not a failure); it is replaced either way. */
  acceptable: (result: CliResult) => boolean;
  /** Runs between the node 2 restart and the node 3 freeze (the worker test's `restart`), the storm held off meanwhile. */
  midway?: () => Promise<void>;
  /** Stops the lanes' processes still running once every job is complete (workers do not end by themselves). */
  stopAll?: (children: ChildProcess[]) => void;
}

export interface StormResult {
  refs: number[];
  meanJobMs: number;
  records: ProcessRecord[];
  processKills: Array<{ pid: number; inFlight: number[] }>;
  faults: Fault[];
  failures: string[];
  rejoin: string;
  queueOutlastedFaults: boolean;
  seconds: number;
}

/** The record handler's trace: each start of a job, by which process, when (Date.now()). */
export function readRuns(file: string): Array<{ ref: number; pid: number; at: number }> {
  return linesOf(file).map((line) => {
    const [ref, pid, at] = line.split(" ");
    return { ref: Number(ref), pid: Number(pid), at: Number(at) };
  });
}

export async function clusterStorm(options: StormOptions): Promise<StormResult> {
  const { db, dir, jobs } = options;
  const recordFile = path.join(dir, "runs.txt");
  // The faults take about 45 s: the jobs are sized to last 40 s on 12 slots, whatever their
  // number, which the kills stretch to two minutes or more.
  const meanJobMs = Math.max(100, Math.round((40_000 * 12) / jobs));
  const sleepFor = (i: number) => Math.round(meanJobMs * (0.2 + (1.6 * ((i * 37) % 100)) / 100));
  await db.query("INSERT INTO job_queue (type, job_data) VALUES ?", [
    Array.from({ length: jobs }, (_, i) => ["record", JSON.stringify({ file: recordFile, sleepMs: sleepFor(i) })]),
  ]);
  const refs = (await db.query<{ ref: number }>("SELECT ref FROM job_queue ORDER BY ref")).map((r) => Number(r.ref));

  // Two lanes a host; the second may take up to 4 slots, the host's pool (as overlapping cron runs do).
  // A lost claim burns an attempt (docs/architecture.md): the cap is not what is measured here.
  const lanes = HOSTS.flatMap(({ host, node }) => {
    const config = clusterHostConfig(dir, db, host, node, { types: { record: { maxAttempts: 50 } } });
    return [0, 1].map((k) => ({ host, config, lockDir: path.join(dir, `locks-${host}`), maxJobs: 2 * (k + 1), child: undefined as ChildProcess | undefined }));
  });
  const records: ProcessRecord[] = [];
  const failures: string[] = [];
  let finished = false;
  /** Hosts the storm spares for now: their node has just failed, and the test watches them continue. */
  const spared = new Set<string>();
  /** The storm kills nothing while this is set (during `midway`: what it watches must not be killed under it). */
  let held = false;
  const results = new Map<number, Promise<CliResult>>();

  const keep = async (lane: (typeof lanes)[number]) => {
    while (!finished) {
      const child = startCli(options.command(lane.maxJobs), { config: lane.config });
      const record: ProcessRecord = { pid: child.pid!, host: lane.host, startedAt: Date.now() };
      records.push(record);
      lane.child = child;
      const result = collect(child, 900_000);
      results.set(child.pid!, result);
      const ended = await result;
      Object.assign(record, { endedAt: Date.now(), result: ended });
      lane.child = undefined;
      if (ended.signal === "SIGKILL") continue;
      if (!options.acceptable(ended))
        failures.push(`${options.command(lane.maxJobs)[0]} ${child.pid} on ${lane.host} exited ${ended.code ?? ended.signal}:\n${tail(ended.stderr)}`);
      if (!finished) await sleep(/busy/.test(ended.stderr) ? 400 : 1000);
    }
  };
  const keepers = lanes.map(keep);

  const processKills: StormResult["processKills"] = [];
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
  const count = async (where: string) => Number((await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM job_queue WHERE ${where}`))[0]!.n);

  const storm = async () => {
    while (!finished && (await count("status = 'pending'")) > 0) {
      await sleep(1000 + Math.random() * 1000);
      if (held) continue;
      const working = lanes.filter((lane) => !spared.has(lane.host) && lane.child?.pid && slotsHeldBy(lane.lockDir, lane.child.pid) > 0);
      const victim = working[Math.floor(Math.random() * working.length)];
      if (!victim) continue;
      const pid = victim.child!.pid!;
      killTree(victim.child!, "SIGKILL");
      await results.get(pid);
      processKills.push({ pid, inFlight: await inFlightOn(victim.host, pid) });
    }
  };

  /**
   * A fault on `node`: the host that uses it is spared by the storm from SPARE_BEFORE_MS before
   * (so that a lane it had just killed is working again) until the test has watched it continue.
   */
  const fault = async (what: string, node: NodeNumber, act: () => void) => {
    const host = HOSTS.find((h) => h.node === node)!.host;
    spared.add(host);
    await sleep(SPARE_BEFORE_MS);
    const working = lanes
      .filter((lane) => lane.host === host && lane.child?.pid && slotsHeldBy(lane.lockDir, lane.child.pid) > 0)
      .map((lane) => lane.child!.pid!);
    act();
    const at = Date.now();
    faults.push({ what, node, at, inFlight: await inFlightOn(host), working });
    setTimeout(() => spared.delete(host), (CONTINUE_BOUND_S + 2) * 1000).unref();
  };

  const began = Date.now();
  let queueOutlastedFaults = false;
  let rejoin = "";
  try {
    const stormDone = storm();
    await sleep(5000 - SPARE_BEFORE_MS);
    const killed = nodePid(2)!;
    await fault("SIGKILL", 2, () => process.kill(killed, "SIGKILL"));
    await sleep(6000);
    await restartMissingNodes();
    rejoin = lastJoin(2);
    await waitForCluster();
    held = true;
    if (options.midway) await sleep(SPARE_BEFORE_MS); // lanes it had just killed are working again
    await options.midway?.();
    held = false;
    const frozen = nodePid(3)!;
    await fault("SIGSTOP", 3, () => process.kill(frozen, "SIGSTOP"));
    await sleep((LEASE_SECONDS + 3) * 1000);
    process.kill(frozen, "SIGCONT");
    await waitForCluster();
    queueOutlastedFaults = (await count("status = 'pending'")) > 0;
    await stormDone;
    const deadline = Date.now() + 120_000 + LEASE_SECONDS * 1000;
    while ((await count("status <> 'complete'")) > 0) {
      assert.ok(
        Date.now() < deadline,
        `jobs still not complete two minutes after the storm: ${JSON.stringify(await db.query("SELECT status, COUNT(*) AS n FROM job_queue GROUP BY status"))}`,
      );
      await sleep(250);
    }
  } finally {
    finished = true;
    options.stopAll?.(lanes.flatMap((lane) => (lane.child ? [lane.child] : [])));
    await Promise.all(keepers);
  }
  return { refs, meanJobMs, records, processKills, faults, failures, rejoin, queueOutlastedFaults, seconds: (Date.now() - began) / 1000 };
}

/**
 * What both tests assert after the storm: the killed node rejoined by IST; every process that was
 * not killed ended acceptably; every job complete exactly once in the table, none lost; a job
 * ran twice only if it was in flight in a killed process or on a failed node's host; every
 * process that used a failed node started a job again within CONTINUE_BOUND_S. Returns the report line.
 */
export async function judgeStorm(db: ClusterDatabase, dir: string, storm: StormResult, name: string): Promise<string> {
  const jobs = storm.refs.length;
  assert.equal(storm.rejoin, "IST", "the killed node should rejoin by IST (only the writesets it missed), not a full state transfer");
  assert.ok(storm.queueOutlastedFaults, "jobs should still be pending when the frozen node comes back, so that the faults met a queue being drained");
  assert.deepEqual(storm.failures, [], "every process that was not killed should end cleanly, those on the healthy nodes included");
  const byStatus = await db.query<{ status: string; n: number }>("SELECT status, COUNT(*) AS n FROM job_queue GROUP BY status");
  assert.deepEqual(
    byStatus.map((r) => [r.status, Number(r.n)]),
    [["complete", jobs]],
    `every job should be complete and none running: ${JSON.stringify(byStatus)}`,
  );

  const runs = readRuns(path.join(dir, "runs.txt"));
  const runsOf = new Map<number, number>();
  for (const { ref } of runs) runsOf.set(ref, (runsOf.get(ref) ?? 0) + 1);
  const lost = storm.refs.filter((ref) => !runsOf.has(ref));
  assert.deepEqual(lost, [], `jobs complete whose handler never ran (lost): ${lost.slice(0, 20).join(", ")}`);

  const allowed = new Map<number, number>();
  for (const ref of [...storm.processKills.flatMap((k) => k.inFlight), ...storm.faults.flatMap((f) => f.inFlight)])
    allowed.set(ref, (allowed.get(ref) ?? 0) + 1);
  const unexplained = [...runsOf].filter(([ref, n]) => n - 1 > (allowed.get(ref) ?? 0));
  const atKills = new Set(storm.processKills.flatMap((k) => k.inFlight));
  const inFlightAtKills = storm.processKills.reduce((sum, k) => sum + k.inFlight.length, 0);
  const inFlightAtFaults = storm.faults.reduce((sum, f) => sum + f.inFlight.length, 0);
  const atFaults = new Set(storm.faults.flatMap((f) => f.inFlight));
  /** Jobs that ran again only because a node failed under them (in flight at a fault, at no process kill). */
  const againAfterFaults = [...runsOf].filter(([ref, n]) => n > 1 && atFaults.has(ref) && !atKills.has(ref)).length;

  // Every process that held job slots on the failed node's host at the fault and lived to the end
  // of the bound (the storm spares that host meanwhile) said it moved, and started a job after
  // the fault (one waiting for a free slot has nothing to continue).
  const continued: string[] = [];
  const late: string[] = [];
  for (const f of storm.faults) {
    const host = HOSTS.find((h) => h.node === f.node)!.host;
    const watched = storm.records.filter((r) => f.working.includes(r.pid) && (r.endedAt ?? Infinity) > f.at + CONTINUE_BOUND_S * 1000);
    if (watched.length === 0) late.push(`node ${f.node}'s ${f.what}: no process of ${host} held slots at the fault and lived through the bound`);
    for (const process of watched) {
      const moved = (process.result?.stderr ?? "").includes(`database node ${nodeWhere(f.node)}`);
      const next = runs.filter((r) => r.pid === process.pid && r.at > f.at).sort((a, b) => a.at - b.at)[0];
      const after = next && (next.at - f.at) / 1000;
      const what = `${process.pid} on ${host} after node ${f.node}'s ${f.what}`;
      const said = (process.result?.stderr ?? "")
        .split("\n")
        .filter((line) => /"level":"(warn|error)"|^offline-jobs:/.test(line))
        .slice(0, 10)
        .join("\n");
      if (!moved) late.push(`${what}: no line saying it moved; it said:\n${said}`);
      else if (after === undefined || after > CONTINUE_BOUND_S)
        late.push(`${what}: next job started ${after === undefined ? "never" : `${after.toFixed(1)} s`} after; it said:\n${said}`);
      else continued.push(`${host}:${process.pid} ${after.toFixed(1)} s after the ${f.what}`);
    }
  }

  const attempts = await db.query<{ attempts: number; n: number }>("SELECT attempts, COUNT(*) AS n FROM job_queue GROUP BY attempts ORDER BY attempts");
  const report =
    `${name}: ${jobs} jobs (mean ${storm.meanJobMs} ms) in ${storm.seconds.toFixed(0)} s, ${storm.records.length} processes started, ${storm.processKills.length} SIGKILLed; ` +
    `node 2 SIGKILLed and rejoined by ${storm.rejoin}, node 3 frozen ${LEASE_SECONDS + 3} s; ${runs.length} handler runs = ${runs.length - jobs} repeats ` +
    `(jobs in flight at process kills: ${inFlightAtKills}, on a failed node's host: ${inFlightAtFaults}, of which ${againAfterFaults} ran again); ` +
    `continued on another node: ${continued.join(", ") || "none watched"}; attempts per job: ${attempts.map((a) => `${a.attempts}×${a.n}`).join(", ")}`;
  assert.deepEqual(
    unexplained.map(([ref, n]) => `job ${ref} ran ${n} times, in flight at ${allowed.get(ref) ?? 0} kill(s) or fault(s)`),
    [],
    `every repeat must belong to a job in flight in a killed process or on a failed node's host\n${report}`,
  );
  assert.deepEqual(late, [], `every process on a failed node should continue on another node within ${CONTINUE_BOUND_S} s\n${report}`);
  return report;
}

/** A cluster database with the job table, for a storm test file. */
export async function initCluster(db: ClusterDatabase, dir: string): Promise<void> {
  const init = await runCli(["init"], { config: clusterHostConfig(dir, db, "init", 1) });
  assert.equal(init.code, 0, `init on the cluster failed:\n${init.stderr}`);
}

/** The storms' size: OJ_GALERA_JOBS jobs (300 in `npm test`, 3,000 in `npm run test:galera`). */
export const STORM_JOBS = Number(process.env.OJ_GALERA_JOBS ?? 300);

/**
 * A storm's database and folder, made before the describe's tests (unless skipped) and, after
 * them, the cluster healed, the database dropped and the folder removed. Read through the getters.
 */
export function useStormWorld(skip: string | false, prefix: string): { readonly db: ClusterDatabase; readonly dir: string } {
  let db: ClusterDatabase | undefined;
  let dir: string | undefined;
  before(async () => {
    if (skip) return;
    db = await createClusterDatabase();
    dir = makeTempDir(prefix);
    await initCluster(db, dir);
  });
  after(async () => {
    if (skip) return;
    await healCluster();
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    get db() {
      return db!;
    },
    get dir() {
      return dir!;
    },
  };
}
