import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import mysql from "mysql2/promise";
import { collect, linesOf, makeTempDir, runCli, sleep, startCli } from "../helpers/cli.js";
import { tail } from "../helpers/environment.js";
import { setRunning } from "../../src/queue/claim.js";
import { openDatabase } from "../../src/queue/db.js";
import { ensureTypeSlots, lockLimitedTypes } from "../../src/queue/type-slots.js";
import { clusterHostConfig, conflictCounters, createClusterDatabase, NODES, nodeUrl, nodeWhere, type ClusterDatabase } from "../helpers/galera.js";

/**
 * The claim and the reads on the three-node Galera cluster of scripts/galera.sh (docs/reliability.md,
 * "A Galera cluster"): claims on three nodes at once, a concurrency limit across nodes, a node
 * that is not Synced, and commands that read what was just written through a node that lags.
 * Skipped, saying why, when the cluster is not running (`bash scripts/galera.sh start`; CI starts it).
 */

const JOBS = Number(process.env.OJ_GALERA_JOBS ?? 300);

/** Registers these tests (cluster.test.ts: every cluster test in one file, so that they take turns on the one cluster). */
export function claimsOnTheCluster(skip: string | false): void {
  describe("claims and reads on the cluster", () => {
    let db: ClusterDatabase;
    let dir: string;
    before(async () => {
      if (skip) return;
      db = await createClusterDatabase();
      dir = makeTempDir("oj-galera-claims-");
      const init = await runCli(["init"], { config: clusterHostConfig(dir, db, "init", 1) });
      assert.equal(init.code, 0, `init on the cluster failed:\n${init.stderr}`);
    });
    after(async () => {
      await db?.drop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Statements retried after a conflict, and claims, from the runs' debug summaries. */
    function claimSummaries(stderr: string): { claims: number; conflicts: number } {
      const total = { claims: 0, conflicts: 0 };
      for (const line of stderr.split("\n").filter((l) => l.includes('"claims"'))) {
        const parsed = JSON.parse(line) as { claims: number; conflicts: number };
        total.claims += parsed.claims;
        total.conflicts += parsed.conflicts;
      }
      return total;
    }

    test(
      `${JOBS * 2} short jobs claimed by a run on each of the three nodes at once: the claims that lose certification are retried, and every job runs exactly once`,
      { skip, timeout: 300_000 },
      async (t) => {
        await db.query("DELETE FROM job_queue");
        const recordFile = path.join(dir, "once.txt");
        const jobs = JOBS * 2;
        await db.query("INSERT INTO job_queue (type, job_data) VALUES ?", [
          Array.from({ length: jobs }, () => ["record", JSON.stringify({ file: recordFile, sleepMs: 2 })]),
        ]);
        const before = await Promise.all(NODES.map(conflictCounters));
        const results = await Promise.all(
          NODES.map((n) =>
            collect(startCli(["run", "--max-jobs", "4", "--verbose", "--log-format", "json"], { config: clusterHostConfig(dir, db, `once-${n}`, n) }), 240_000),
          ),
        );
        const afterCounts = await Promise.all(NODES.map(conflictCounters));
        results.forEach((r, i) => assert.equal(r.code, 0, `the run on node ${i + 1} should exit 0:\n${tail(r.stderr)}`));

        const runs = new Map<number, number>();
        for (const line of linesOf(recordFile)) runs.set(Number(line.split(" ")[0]), (runs.get(Number(line.split(" ")[0])) ?? 0) + 1);
        const twice = [...runs].filter(([, n]) => n > 1).map(([ref, n]) => `${ref} (${n} times)`);
        assert.deepEqual(twice, [], "no job may run twice when nothing failed: a claim that lost certification must not start its jobs");
        assert.equal(runs.size, jobs, `every job should have run once (${runs.size} of ${jobs} did)`);
        const [complete] = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status = 'complete' AND attempts = 1");
        assert.equal(Number(complete!.n), jobs, "every job should be complete at its first attempt");

        const client = claimSummaries(results.map((r) => r.stderr).join("\n"));
        const server = NODES.reduce(
          (sum, _, i) => sum + afterCounts[i]!.certFailures + afterCounts[i]!.bfAborts - before[i]!.certFailures - before[i]!.bfAborts,
          0,
        );
        const line =
          `claims on three nodes: ${jobs} jobs, ${client.claims} claims; ${client.conflicts} retried by the runs ` +
          `(${((1000 * client.conflicts) / client.claims).toFixed(1)} per 1,000 claims), ${server} certification failures and brute-force aborts in the cluster ` +
          `(${((1000 * server) / client.claims).toFixed(1)} per 1,000 claims)`;
        t.diagnostic(line);
        console.log(line);
        assert.ok(client.claims > 0, "the runs' debug summaries should count their claims");
      },
    );

    test(
      "two nodes' claims of a type with concurrency 1, each counting no job of it running, cannot both commit: its slot row is written, so they conflict",
      { skip, timeout: 60_000 },
      async () => {
        // Interleaved by hand, as two hosts' claims can interleave: on one server the second would
        // wait for the first's lock on the slot row; on Galera that lock holds on node 1 only.
        await db.query("DELETE FROM job_queue");
        await db.query("INSERT INTO job_queue (type, job_data) VALUES ('record', '{}'), ('record', '{}')");
        const refs = (await db.query<{ ref: number }>("SELECT ref FROM job_queue ORDER BY ref")).map((r) => Number(r.ref));
        const nodes = [openDatabase(db.url(1), "job_queue", 1), openDatabase(db.url(2), "job_queue", 1)];
        try {
          await ensureTypeSlots(nodes[0]!, ["record"]);
          await sleep(200); // node 2 has the slot row and both jobs
          const connections = await Promise.all(nodes.map((node) => node.pool.getConnection()));
          const claim = { workerId: "test:1", leaseSeconds: 60 };
          for (const [i, connection] of connections.entries()) {
            await connection.beginTransaction();
            const room = await lockLimitedTypes(nodes[i]!, connection, ["record"], { record: 1 }, "SKIP LOCKED");
            assert.equal(room.get("record"), 1, `node ${i + 1} sees room for one (its lock and its count are its own)`);
            await setRunning(nodes[i]!, connection, [refs[i]!], claim);
          }
          const commits = [];
          for (const connection of connections)
            commits.push(
              await connection.commit().then(
                () => "committed",
                (error: { errno?: number }) => error.errno,
              ),
            );
          for (const connection of connections) connection.release();
          assert.deepEqual(commits, ["committed", 1213], "the second claim must fail certification (1213), to be retried");
          await sleep(200);
          const [running] = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status = 'running'");
          assert.equal(Number(running!.n), 1, "one job of the type may be running");
        } finally {
          await Promise.all(nodes.map((node) => node.close()));
        }
      },
    );

    test("a type with concurrency 1 drained by a run on each of the three nodes runs one job at a time", { skip, timeout: 300_000 }, async () => {
      await db.query("DELETE FROM job_queue");
      const recordFile = path.join(dir, "limited.txt");
      const runningDir = path.join(dir, "limited-running");
      const peakFile = path.join(dir, "limited-peak.txt");
      fs.mkdirSync(runningDir);
      const jobs = Math.min(JOBS, 120);
      await db.query("INSERT INTO job_queue (type, job_data) VALUES ?", [
        Array.from({ length: jobs }, () => ["record", JSON.stringify({ file: recordFile, sleepMs: 10, runningDir, peakFile })]),
      ]);
      const results = await Promise.all(
        NODES.map((n) =>
          collect(
            startCli(["run", "--max-jobs", "2"], { config: clusterHostConfig(dir, db, `limited-${n}`, n, { types: { record: { concurrency: 1 } } }) }),
            240_000,
          ),
        ),
      );
      results.forEach((r, i) => assert.equal(r.code, 0, `the run on node ${i + 1} should exit 0:\n${tail(r.stderr)}`));
      assert.equal(linesOf(recordFile).length, jobs, "every job should have run once");
      const peak = Math.max(...linesOf(peakFile).map(Number));
      assert.equal(peak, 1, `at most one job of the limited type may run at a time on all nodes; ${peak} ran at once`);
    });

    test(
      "a node that is not Synced (desynced, as a backup's donor is) is left for the next at the first connection, with one line saying so",
      { skip, timeout: 120_000 },
      async () => {
        await db.query("DELETE FROM job_queue");
        const recordFile = path.join(dir, "desynced.txt");
        await db.query("INSERT INTO job_queue (type, job_data) VALUES ?", [Array.from({ length: 20 }, () => ["record", JSON.stringify({ file: recordFile })])]);
        const admin = await mysql.createConnection(nodeUrl(1));
        try {
          await admin.query("SET GLOBAL wsrep_desync = ON");
          const result = await runCli(["run", "--max-jobs", "2"], { config: clusterHostConfig(dir, db, "desynced", 1) });
          assert.equal(result.code, 0, `the run should carry on on the next node:\n${tail(result.stderr)}`);
          const moves = result.stderr.split("\n").filter((line) => line.includes("moving to"));
          assert.equal(moves.length, 1, `one line should say the run moved, found:\n${moves.join("\n")}`);
          assert.match(
            moves[0]!,
            new RegExp(`database node ${nodeWhere(1)} is not ready \\(wsrep_local_state_comment is Donor/Desynced, not Synced\\); moving to ${nodeWhere(2)}`),
          );
          assert.equal(linesOf(recordFile).length, 20, "every job should have run, through node 2");
        } finally {
          await admin.query("SET GLOBAL wsrep_desync = OFF");
          await admin.end();
        }
      },
    );

    test(
      "show and cancel through a node that has not yet applied a job added through another node wait for it (wsrep_sync_wait), where list without it does not see the job",
      { skip, timeout: 120_000 },
      async () => {
        await db.query("DELETE FROM job_queue");
        const onNode1 = clusterHostConfig(dir, db, "writer", 1, { database: { url: db.url(1) } });
        const onNode2 = clusterHostConfig(dir, db, "reader", 2, { database: { url: db.url(2) } });
        // FLUSH TABLES WITH READ LOCK holds node 2's appliers: node 2 falls behind the cluster.
        const lock = await mysql.createConnection(nodeUrl(2));
        let locked = true;
        try {
          await lock.query("FLUSH TABLES WITH READ LOCK");
          const added = await runCli(["add", "noop", "--data", "{}", "--run-at", "+1d"], { config: onNode1 });
          assert.equal(added.code, 0, added.stderr);
          const ref = Number(/\d+/.exec(added.stdout)![0]);
          const second = await runCli(["add", "noop", "--data", "{}", "--run-at", "+1d"], { config: onNode1 });
          const ref2 = Number(/\d+/.exec(second.stdout)![0]);

          const listed = await runCli(["list", "--json"], { config: onNode2 });
          assert.doesNotMatch(listed.stdout, new RegExp(`"ref":\\s*${ref}\\b`), "node 2 should not have applied the job yet (else this test shows nothing)");
          const show = collect(startCli(["show", String(ref)], { config: onNode2 }), 60_000);
          const cancel = collect(startCli(["cancel", String(ref2)], { config: onNode2 }), 60_000);
          await sleep(1500);
          await lock.query("UNLOCK TABLES");
          locked = false;
          const [shown, cancelled] = await Promise.all([show, cancel]);
          assert.equal(shown.code, 0, `show through node 2 should find the job once node 2 has caught up:\n${shown.stderr}`);
          assert.match(shown.stdout, new RegExp(`ref\\s+${ref}\\b`));
          assert.equal(cancelled.code, 0, `cancel through node 2 should find the job:\n${cancelled.stderr}`);
          const [row] = await db.query<{ status: string }>("SELECT status FROM job_queue WHERE ref = ?", [ref2]);
          assert.equal(row!.status, "cancelled");
        } finally {
          if (locked) await lock.query("UNLOCK TABLES").catch(() => undefined);
          await lock.end();
        }
      },
    );
  });
}
