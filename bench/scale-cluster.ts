/**
 * bench:scale --cluster: the same queue on the three-node Galera cluster of scripts/galera.sh
 * (start it first: `bash scripts/galera.sh start`). For `noop` jobs and `command` jobs (a
 * template that runs `true`, a process per job), three runs on three simulated hosts: on one
 * plain MariaDB of the bench's own (the reference, no cluster), all on node 1 of the cluster (the
 * others replicate), or one run on each node. The layouts take turns within each repeat, so
 * that the machine's ups and downs fall on all of them; each figure is the median of the repeats.
 *
 * Prints jobs/s, statements per job (the servers' Questions, which count what clients send, not
 * what a node applies for the others) and the claim's conflicts per 1,000 claims: statements the
 * runs retried after a certification failure (their own count, from each run's debug summary),
 * and the nodes' wsrep_local_cert_failures + wsrep_local_bf_aborts, which also count the
 * conflicts that wsrep_retry_autocommit settled inside the server.
 *
 * jobs/s is read from the table, the first started_at to the last finished_at: LOCK TABLES,
 * the one-server bench's starting gate, locks on one node only in a cluster.
 */
import fs from "node:fs";
import os from "node:os";
import { collect, makeTempDir, startCli, writeConfig } from "../test/helpers/cli.js";
import { conflictCounters, createClusterDatabase, galeraUnavailable, NODES, nodesFrom, type ClusterDatabase, type NodeNumber } from "../test/helpers/galera.js";
import { openBenchDatabase } from "./bench-database.js";

interface ClusterRow {
  kind: "noop" | "command";
  layout: string;
  jobsPerSecond: number;
  statementsPerJob: number;
  claims: number;
  /** Retried by the runs (client side), per 1,000 claims. */
  retriedPerKClaims: number;
  /** wsrep_local_cert_failures + wsrep_local_bf_aborts over the nodes, per 1,000 claims. */
  serverConflictsPerKClaims: number;
}

/** Where the runs' statements go: the URLs host h lists, and the server-wide counters. */
interface Target {
  name: string;
  urls(host: number): string[];
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  counters(): Promise<{ questions: number; conflicts: number }>;
}

const progress = (line: string) => process.stderr.write(`[bench:scale --cluster] ${line}\n`);

async function clusterCounters(): Promise<{ questions: number; conflicts: number }> {
  let questions = 0;
  let conflicts = 0;
  for (const n of NODES) {
    const c = await conflictCounters(n);
    questions += c.questions;
    conflicts += c.certFailures + c.bfAborts;
  }
  return { questions, conflicts };
}

function clusterTarget(db: ClusterDatabase, name: string, nodeOf: (host: number) => NodeNumber): Target {
  return { name, urls: (host) => nodesFrom(nodeOf(host)).map((n) => db.url(n)), query: (sql, params) => db.query(sql, params), counters: clusterCounters };
}

async function fill(target: Target, kind: ClusterRow["kind"], jobs: number): Promise<void> {
  await target.query("DELETE FROM job_queue");
  const row = kind === "noop" ? ["noop", "{}"] : ["command", JSON.stringify({ command: "nothing", args: {} })];
  for (let done = 0; done < jobs; done += 5000)
    await target.query("INSERT INTO job_queue (type, job_data) VALUES ?", [Array.from({ length: Math.min(5000, jobs - done) }, () => row)]);
}

/** The debug summaries of a run's stderr: claims sent and statements retried after conflicts. */
function summaries(stderr: string): { claims: number; conflicts: number } {
  let claims = 0;
  let conflicts = 0;
  for (const line of stderr.split("\n")) {
    if (!line.includes('"claims"')) continue;
    try {
      const parsed = JSON.parse(line) as { claims?: number; conflicts?: number };
      claims += parsed.claims ?? 0;
      conflicts += parsed.conflicts ?? 0;
    } catch {
      // not a log line
    }
  }
  return { claims, conflicts };
}

async function row(target: Target, dir: string, kind: ClusterRow["kind"], jobs: number, slots: number): Promise<ClusterRow> {
  await fill(target, kind, jobs);
  const configs = [0, 1, 2].map((host) =>
    writeConfig(
      dir,
      {
        database: { urls: target.urls(host) },
        hostName: `bench-${host + 1}`,
        lockDir: `${dir}/locks-${host + 1}`,
        leaseSeconds: 60,
        commands: { nothing: { argv: ["true"], usableBy: ["command"], timeoutSeconds: 60 } },
      },
      `host-${host + 1}.json`,
    ),
  );
  const before = await target.counters();
  const results = await Promise.all(
    configs.map((config) => collect(startCli(["run", "--max-jobs", String(slots), "--verbose", "--log-format", "json"], { config }), 900_000)),
  );
  const after = await target.counters();
  results.forEach((r, i) => {
    if (r.code !== 0)
      throw new Error(`run ${i + 1} (${kind}, ${target.name}) exited ${r.code ?? r.signal}:\n${r.stderr.trim().split("\n").slice(-10).join("\n")}`);
  });
  const [span] = await target.query<{ n: number; seconds: number }>(
    "SELECT SUM(status = 'complete') AS n, UNIX_TIMESTAMP(MAX(finished_at)) - UNIX_TIMESTAMP(MIN(started_at)) AS seconds FROM job_queue",
  );
  if (Number(span!.n) !== jobs) throw new Error(`${kind}, ${target.name}: ${span!.n} of ${jobs} jobs complete`);
  const client = results.map((r) => summaries(r.stderr)).reduce((a, b) => ({ claims: a.claims + b.claims, conflicts: a.conflicts + b.conflicts }));
  return {
    kind,
    layout: target.name,
    jobsPerSecond: jobs / Number(span!.seconds),
    statementsPerJob: (after.questions - before.questions) / jobs,
    claims: client.claims,
    retriedPerKClaims: (1000 * client.conflicts) / Math.max(1, client.claims),
    serverConflictsPerKClaims: (1000 * (after.conflicts - before.conflicts)) / Math.max(1, client.claims),
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function clusterMain(options: { jobs: number; slots: number; repeats: number }): Promise<void> {
  const unavailable = await galeraUnavailable();
  if (unavailable) throw new Error(`no cluster to measure: ${unavailable}`);
  const db = await createClusterDatabase();
  const dir = makeTempDir("oj-bench-cluster-");
  const { db: plain } = await openBenchDatabase("private", progress);
  try {
    for (const url of [db.url(1), plain.url]) {
      const init = await collect(startCli(["init"], { config: writeConfig(dir, { database: { url } }, "init.json") }));
      if (init.code !== 0) throw new Error(`offline-jobs init failed:\n${init.stderr}`);
    }
    const targets: Target[] = [
      {
        name: "one server, no cluster",
        urls: () => [plain.url],
        query: (sql, params) => plain.query(sql, params),
        counters: async () => ({ questions: Number((await plain.query<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Questions'"))[0]!.Value), conflicts: 0 }),
      },
      clusterTarget(db, "3 runs on node 1", () => 1),
      clusterTarget(db, "1 run on each of 3 nodes", (host) => NODES[host % 3]!),
    ];
    const rows: ClusterRow[] = [];
    for (const kind of ["noop", "command"] as const) {
      const jobs = kind === "noop" ? options.jobs : Math.ceil(options.jobs / 5);
      const measured = new Map<Target, ClusterRow[]>(targets.map((t) => [t, []]));
      for (let i = 0; i < options.repeats; i++) {
        for (const target of targets) measured.get(target)!.push(await row(target, dir, kind, jobs, options.slots));
      }
      for (const [target, runs] of measured) {
        const pick = (f: (r: ClusterRow) => number) => median(runs.map(f));
        rows.push({
          kind,
          layout: target.name,
          jobsPerSecond: pick((r) => r.jobsPerSecond),
          statementsPerJob: pick((r) => r.statementsPerJob),
          claims: pick((r) => r.claims),
          retriedPerKClaims: pick((r) => r.retriedPerKClaims),
          serverConflictsPerKClaims: pick((r) => r.serverConflictsPerKClaims),
        });
        progress(
          `${kind}, ${target.name}: ${runs.map((r) => `${Math.round(r.jobsPerSecond)} jobs/s, ${r.retriedPerKClaims.toFixed(1)} retried/1k claims`).join("; ")}`,
        );
      }
    }
    const fixed = (n: number, d = 2) => n.toFixed(d);
    const table = [
      ["jobs", "layout", "jobs/s", "statements/job", "claims", "claims retried per 1,000", "cluster conflicts per 1,000 claims"],
      ...rows.map((r) => [
        r.kind,
        r.layout,
        Math.round(r.jobsPerSecond).toLocaleString("en-US"),
        fixed(r.statementsPerJob),
        String(r.claims),
        fixed(r.retriedPerKClaims, 1),
        fixed(r.serverConflictsPerKClaims, 1),
      ]),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
    process.stdout.write(
      [
        `offline-jobs on a 3-node Galera cluster (scripts/galera.sh) and on one server: ${options.jobs.toLocaleString("en-US")} noop and ${Math.ceil(options.jobs / 5).toLocaleString("en-US")} command jobs per row, 3 runs of ${options.slots} slots, median of ${options.repeats}`,
        `host ${os.cpus().length} CPU(s), load average ${os.loadavg()[0]!.toFixed(2)} at the end`,
        "",
        ...table.map((r) => r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")),
        "",
        "jobs/s: from the first started_at to the last finished_at in the table.",
        "statements/job: Questions (what clients sent) summed over the servers, per job.",
        "claims retried: statements the runs retried after a deadlock or certification failure (their debug summaries), per 1,000 claims.",
        "cluster conflicts: wsrep_local_cert_failures + wsrep_local_bf_aborts summed over the nodes, per 1,000 claims (includes those wsrep_retry_autocommit settled in the server).",
        "",
      ].join("\n"),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await db.drop().catch((error: Error) => progress(`could not drop ${db.name}: ${error.message}`));
    await plain.drop().catch((error: Error) => progress(`could not remove the reference server: ${error.message}`));
  }
}
