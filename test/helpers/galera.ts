import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import mysql from "mysql2/promise";
import { RECORD_HANDLER, ROOT, sleep, writeConfig } from "./cli.js";

/**
 * The three-node Galera cluster of scripts/galera.sh (start it with `bash scripts/galera.sh
 * start`), for test/galera and bench:scale --cluster: its nodes' URLs, their processes (to
 * kill, freeze and restart them), a database of one's own on it.
 */

const DIR = process.env.GALERA_DIR ?? path.join(process.env.TMPDIR ?? os.tmpdir(), "offline-jobs-galera");
const BASE_PORT = Number(process.env.GALERA_BASE_PORT ?? 3311);
export const NODES = [1, 2, 3] as const;
export type NodeNumber = (typeof NODES)[number];

/** mysql://root@127.0.0.1:PORT of node n (no database). */
export const nodeUrl = (n: NodeNumber) => `mysql://root@127.0.0.1:${BASE_PORT + n - 1}`;
/** host:port of node n, as offline-jobs' log lines name it. */
export const nodeWhere = (n: NodeNumber) => `127.0.0.1:${BASE_PORT + n - 1}`;

/** The pid of node n's mariadbd, from its pid file (undefined while it is down). */
export function nodePid(n: NodeNumber): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(DIR, `node${n}`, "mariadbd.pid"), "utf8").trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** One statement on a connection of its own (a pool would keep connections a kill breaks). */
export async function onNode<T = Record<string, unknown>>(n: NodeNumber, sql: string, params: unknown[] = [], database = ""): Promise<T[]> {
  const connection = await mysql.createConnection({ uri: `${nodeUrl(n)}/${database}`, connectTimeout: 3000 });
  try {
    const [rows] = await connection.query(sql, params);
    return rows as T[];
  } finally {
    connection.destroy();
  }
}

/** Node n's wsrep_local_state_comment and cluster size, or why it cannot say. */
export async function nodeState(n: NodeNumber): Promise<{ state: string; size: number } | string> {
  try {
    const rows = await onNode<{ Variable_name: string; Value: string }>(
      n,
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_cluster_size')",
    );
    const get = (name: string) => rows.find((r) => r.Variable_name.toLowerCase() === name)?.Value ?? "";
    return { state: get("wsrep_local_state_comment"), size: Number(get("wsrep_cluster_size")) };
  } catch (error) {
    return (error as Error).message;
  }
}

/** Why the cluster cannot be used now (a node down, not Synced, a cluster of fewer than 3), or undefined when it can. */
export async function galeraUnavailable(): Promise<string | undefined> {
  for (const n of NODES) {
    const state = await nodeState(n);
    if (typeof state === "string") return `node ${n} (${nodeWhere(n)}) does not answer (${state}): start the cluster with \`bash scripts/galera.sh start\``;
    if (state.state !== "Synced" || state.size !== 3) return `node ${n} is ${state.state} in a cluster of ${state.size}, not Synced in one of 3`;
  }
  return undefined;
}

/** Waits until every node is Synced in a cluster of 3 (a restarted node has rejoined). */
export async function waitForCluster(timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problem = await galeraUnavailable();
    if (!problem) return;
    if (Date.now() > deadline) throw new Error(`the cluster did not come back within ${timeoutMs / 1000} s: ${problem}`);
    await sleep(500);
  }
}

/** Starts the nodes that are down (scripts/galera.sh start: a killed node rejoins, by IST when the cluster still has its writesets). */
export function restartMissingNodes(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [path.join(ROOT, "scripts/galera.sh"), "start"], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(output) : reject(new Error(`scripts/galera.sh start failed (${code}):\n${output}`))));
  });
}

/** After a test that froze or killed nodes, whatever happened: every node thawed, started and Synced again. */
export async function healCluster(): Promise<void> {
  for (const n of NODES) {
    const pid = nodePid(n);
    if (pid) process.kill(pid, "SIGCONT");
  }
  if (NODES.some((n) => nodePid(n) === undefined)) await restartMissingNodes();
  await waitForCluster();
}

/**
 * How node n joined at its last start, from its log: "IST" (only the writesets it missed: the
 * rsync script's "rsync IST completed") or "SST" (a full copy of the data: "rsync SST completed").
 */
export function lastJoin(n: NodeNumber): "IST" | "SST" | "unknown" {
  const log = fs.readFileSync(path.join(DIR, `node${n}`, "error.log"), "utf8");
  const since = log.slice(log.lastIndexOf("] Starting MariaDB"));
  if (/rsync SST completed on joiner/.test(since)) return "SST";
  if (/rsync IST completed on joiner/.test(since)) return "IST";
  return "unknown";
}

/** Node n's Galera counters that the claim meets: certification failures and brute-force aborts of its local transactions. */
export async function conflictCounters(n: NodeNumber): Promise<{ certFailures: number; bfAborts: number; questions: number }> {
  const rows = await onNode<{ Variable_name: string; Value: string }>(
    n,
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts', 'Questions')",
  );
  const get = (name: string) => Number(rows.find((r) => r.Variable_name.toLowerCase() === name)?.Value ?? NaN);
  return { certFailures: get("wsrep_local_cert_failures"), bfAborts: get("wsrep_local_bf_aborts"), questions: get("questions") };
}

export interface ClusterDatabase {
  name: string;
  /** The database's URL on each node, in node order. */
  urls: string[];
  /** Its URL on node n. */
  url(n: NodeNumber): string;
  /** One statement through node n (1 unless given). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], n?: NodeNumber): Promise<T[]>;
  drop(): Promise<void>;
}

/** A database with a random name on the cluster (created through node 1, so on every node). */
export async function createClusterDatabase(): Promise<ClusterDatabase> {
  const name = `oj_galera_${randomBytes(5).toString("hex")}`;
  await onNode(1, `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  const url = (n: NodeNumber) => `${nodeUrl(n)}/${name}`;
  return {
    name,
    urls: NODES.map(url),
    url,
    query: (sql, params = [], n = 1) => onNode(n, sql, params, name),
    drop: async () => {
      for (const n of NODES) {
        try {
          await onNode(n, `DROP DATABASE IF EXISTS \`${name}\``);
          return;
        } catch {
          // that node is down: another one drops it for the cluster
        }
      }
    },
  };
}

/** The nodes in the order a host on node n lists them: its own first, then the others round the ring. */
export function nodesFrom(n: NodeNumber): NodeNumber[] {
  return NODES.map((_, i) => (((n - 1 + i) % NODES.length) + 1) as NodeNumber);
}

/**
 * The config of one simulated host on the cluster: its own hostName and lock folder, the `record`
 * test handler, and the nodes listed from `first` on (its own node first, as a site would list
 * the nearest); `overrides` replace or add settings.
 */
export function clusterHostConfig(dir: string, db: ClusterDatabase, host: string, first: NodeNumber, overrides: Record<string, unknown> = {}): string {
  return writeConfig(
    dir,
    {
      database: { urls: nodesFrom(first).map((n) => db.url(n)) },
      hostName: host,
      lockDir: path.join(dir, `locks-${host}`),
      leaseSeconds: CLUSTER_LEASE_SECONDS,
      lockStaleSeconds: 2,
      handlers: [RECORD_HANDLER],
      ...overrides,
    },
    `${host}.json`,
  );
}

/**
 * The tests' lease on the cluster: long enough for a healthy node's runs to ride out the
 * cluster's pause while it evicts a node (about 6.5 s measured with evs.suspect_timeout's 5 s
 * default), short enough that a job lost with a killed run is recovered soon.
 */
export const CLUSTER_LEASE_SECONDS = 15;
