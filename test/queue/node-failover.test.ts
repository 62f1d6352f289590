import assert from "node:assert/strict";
import net from "node:net";
import path from "node:path";
import { test } from "node:test";
import { performance } from "node:perf_hooks";
import { linesOf, runCli } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";
import { freePort } from "../helpers/private-mariadb.js";
import { openDatabase } from "../../src/queue/db.js";
import { wsrepState } from "../../src/queue/node-failover.js";
import { enqueueJobs } from "../../src/queue/enqueue.js";

/**
 * Several servers in the config without a cluster (the Galera cases are test/galera's): the
 * failover's mechanics on the shared test server, which is a plain MariaDB.
 */

const env = useTestEnvironment("oj-failover-");

/** A URL nobody answers at: a port that was free a moment ago. */
async function deadUrl(database: string): Promise<string> {
  return `mysql://root@127.0.0.1:${await freePort()}/${database}`;
}

test("a run whose first node refuses connections moves to the next with one line saying so, and runs its jobs there", async () => {
  const dead = await deadUrl(env.db.name);
  const config = hostConfig(env, "host-a", { database: { urls: [dead, env.db.url] }, leaseSeconds: 15 });
  const recordFile = path.join(env.dir, "moved.txt");
  for (let i = 0; i < 5; i++) await env.db.insertJob("record", { file: recordFile });
  const result = await runCli(["run"], { config });
  assert.equal(result.code, 0, `the run should carry on on the second server:\n${tail(result.stderr)}`);
  const moves = result.stderr.split("\n").filter((line) => line.includes("moving to"));
  assert.equal(moves.length, 1, `one line should say the run moved:\n${moves.join("\n")}`);
  const where = new URL(dead);
  assert.match(moves[0]!, new RegExp(`database node 127\\.0\\.0\\.1:${where.port} is unreachable \\(ECONNREFUSED\\); moving to 127\\.0\\.0\\.1:\\d+`));
  assert.equal(linesOf(recordFile).length, 5, "every job should have run");
});

test("with one server there is nowhere to go: an unreachable server is the error it always was, with no line about moving", async () => {
  const result = await runCli(["run"], { config: hostConfig(env, "host-b", { database: { url: await deadUrl(env.db.name) } }) });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /ECONNREFUSED/);
  assert.doesNotMatch(result.stderr, /moving to/);
});

test("every server unreachable: each is tried once, then the error", async () => {
  const result = await runCli(["run"], {
    config: hostConfig(env, "host-c", { database: { urls: [await deadUrl(env.db.name), await deadUrl(env.db.name)] }, leaseSeconds: 15 }),
  });
  assert.equal(result.code, 1, tail(result.stderr));
  assert.match(result.stderr, /ECONNREFUSED/);
  assert.ok(result.stderr.split("\n").filter((line) => line.includes("moving to")).length <= 2, "at most one move per server");
});

test("a plain MariaDB passes the readiness check that every new connection to a listed node makes, and a causal session on it is harmless", async () => {
  const db = openDatabase([env.db.url, env.db.url], "job_queue", 1, { readsFollowWrites: true });
  try {
    const [rows] = await db.pool.query("SELECT @@SESSION.wsrep_sync_wait AS wait");
    assert.deepEqual(rows, [{ wait: 0 }], "wsrep_sync_wait is set on Galera nodes only");
    const [status] = await db.pool.query(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_provider_name', 'wsrep_ready', 'wsrep_cluster_status', 'wsrep_local_state_comment')",
    );
    assert.deepEqual(wsrepState(status), { galera: false }, "a server without a wsrep provider is not a Galera node, whatever wsrep_ready says");
  } finally {
    await db.close();
  }
});

test("what the readiness check makes of a Galera node's status", () => {
  const status = (ready: string, component: string, state: string) => [
    { Variable_name: "wsrep_provider_name", Value: "Galera" },
    { Variable_name: "wsrep_ready", Value: ready },
    { Variable_name: "wsrep_cluster_status", Value: component },
    { Variable_name: "wsrep_local_state_comment", Value: state },
  ];
  assert.deepEqual(wsrepState(status("ON", "Primary", "Synced")), { galera: true });
  assert.deepEqual(wsrepState(status("OFF", "Primary", "Synced")), { galera: true, problem: "wsrep_ready is OFF" });
  assert.deepEqual(wsrepState(status("ON", "non-Primary", "Synced")), { galera: true, problem: "it is in a non-Primary component, not the Primary one" });
  assert.deepEqual(wsrepState(status("ON", "Primary", "Donor/Desynced")), { galera: true, problem: "wsrep_local_state_comment is Donor/Desynced, not Synced" });
  assert.deepEqual(wsrepState([]), { galera: false }, "MySQL has no wsrep status variables");
});

/**
 * A TCP relay to the test server that can be frozen, as a SIGSTOPped server or a partition is:
 * it still accepts connections and keeps the open ones, but passes no byte either way.
 */
async function freezableRelay(target: URL): Promise<{ port: number; freeze(): void; close(): void }> {
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const server = net.createServer((client) => {
    sockets.add(client);
    if (frozen) return client.pause();
    const upstream = net.connect(Number(target.port || 3306), target.hostname);
    sockets.add(upstream);
    client.pipe(upstream).on("error", () => undefined);
    upstream.pipe(client).on("error", () => undefined);
    for (const socket of [client, upstream]) socket.on("error", () => undefined).on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze() {
      frozen = true;
      for (const socket of sockets) socket.pause();
    },
    close() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

test(
  "a statement on a node that freezes under an open connection moves to the next node in seconds, with no heartbeat to notice (a command's)",
  { timeout: 30_000 },
  async () => {
    const relay = await freezableRelay(new URL(env.db.url));
    const frozenUrl = `mysql://root@127.0.0.1:${relay.port}/${env.db.name}`;
    const moves: string[] = [];
    const db = openDatabase([frozenUrl, env.db.url], "job_queue", 1, { onNodeChange: (line) => moves.push(line) });
    try {
      const ref = await env.db.insertJob("noop", {});
      await db.pool.query("SELECT 1"); // connected, through the relay
      relay.freeze();
      const started = performance.now();
      const [rows] = await db.pool.query("SELECT COUNT(*) AS n FROM job_queue WHERE ref = ?", [ref]);
      const waited = performance.now() - started;
      assert.deepEqual(rows, [{ n: 1 }], "the read should have been answered by the second node");
      assert.ok(waited < 15_000, `the read waited ${Math.round(waited)} ms on the frozen node; it should move on after about 5 s (a 3 s stall, a 2 s probe)`);
      assert.equal(moves.length, 1, `one line should say it moved:\n${moves.join("\n")}`);
      assert.match(moves[0]!, new RegExp(`database node 127\\.0\\.0\\.1:${relay.port} .*; moving to `));
    } finally {
      relay.close();
      await db.close();
    }
  },
);

test(
  "a transaction (adding two jobs) on a node that freezes under an open connection is run again on the next node, and adds each job once",
  { timeout: 30_000 },
  async () => {
    const relay = await freezableRelay(new URL(env.db.url));
    const moves: string[] = [];
    const db = openDatabase([`mysql://root@127.0.0.1:${relay.port}/${env.db.name}`, env.db.url], "job_queue", 1, { onNodeChange: (line) => moves.push(line) });
    const batch = `frozen-${Date.now()}`;
    try {
      await db.pool.query("SELECT 1"); // connected, through the relay
      relay.freeze();
      const added = await enqueueJobs(db, [
        { type: "noop", data: {}, user: batch },
        { type: "noop", data: {}, user: batch },
      ]);
      assert.equal(added.length, 2);
      const [row] = await env.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE user = ?", [batch]);
      assert.equal(Number(row!.n), 2, "each job should be added once, on the second node");
      assert.equal(moves.length, 1, `one line should say it moved:\n${moves.join("\n")}`);
    } finally {
      relay.close();
      await db.close();
    }
  },
);
