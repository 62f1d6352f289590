import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import mysql from "mysql2/promise";
import { collect, linesOf, RECORD_HANDLER, runCli, sleep, startCli, stderrSoFar, waitFor, writeConfig } from "../helpers/cli.js";
import { tail } from "../helpers/environment.js";
import { privateMariadbUnavailable, usePrivateDatabase } from "../helpers/private-mariadb.js";

/**
 * A database that stops answering without closing anything (a frozen server, or a network
 * partition: its TCP connections stay up, so no query fails, it just never returns). A run
 * cannot renew its leases; once they are about to run out it stops its jobs itself, because
 * past that point another run may take them: a job must never run twice at once. On a private
 * server of this test's own, frozen with SIGSTOP.
 */

const LEASE_SECONDS = 3;
const unavailable = privateMariadbUnavailable();

const env = usePrivateDatabase("oj_frozen");

test(
  "a run whose database freezes stops its job before the lease runs out, and the job later runs again, never twice at once",
  { skip: unavailable, timeout: 120_000 },
  async () => {
    const { dir, url } = env;
    const server = env.server!;
    const config = writeConfig(dir, {
      database: { url },
      hostName: "host-a",
      lockDir: path.join(dir, "locks"),
      leaseSeconds: LEASE_SECONDS,
      lockStaleSeconds: 2,
      handlers: [RECORD_HANDLER],
    });
    assert.equal((await runCli(["init"], { config })).code, 0);
    const runs = path.join(dir, "runs.txt");
    const runningDir = path.join(dir, "running");
    const peakFile = path.join(dir, "peak.txt");
    fs.mkdirSync(runningDir);
    const connection = await mysql.createConnection(url);
    await connection.query("INSERT INTO job_queue (type, job_data) VALUES ('record', ?)", [
      JSON.stringify({ file: runs, sleepMs: 20_000, runningDir, peakFile }),
    ]);
    await connection.end();

    const first = startCli(["run", "--max-jobs", "1"], { config });
    const firstResult = collect(first, 100_000);
    await waitFor(() => fs.readdirSync(runningDir).length === 1, "the job to be running");
    process.kill(server.pid!, "SIGSTOP");
    const frozenAt = Date.now();
    let result: Awaited<typeof firstResult> | undefined;
    try {
      // The last renewal was at most a beat (a third of the lease) before the freeze; the run
      // must stop the job before the lease ends, so well within two leases of the freeze.
      await waitFor(() => fs.readdirSync(runningDir).length === 0, "the run to stop its job while the database is frozen", LEASE_SECONDS * 2 * 1000).catch(
        (error: Error) => {
          throw new Error(`${error.message} (the job was still running ${Date.now() - frozenAt} ms after the freeze; a 20 s job would otherwise run on)`);
        },
      );
      // Then it gives up on the silent database and exits, the server still frozen: a cron run
      // must not wait on its sockets until TCP gives up, hours later, holding the host's slots.
      result = await Promise.race([firstResult, sleep(LEASE_SECONDS * 3 * 1000).then(() => undefined)]);
    } finally {
      process.kill(server.pid!, "SIGCONT");
    }
    assert.ok(result, `the run should have exited while the database was still frozen, not ${Math.round((Date.now() - frozenAt) / 1000)} s after the freeze`);
    assert.equal(result.code, 1, `a run that gave up on its database should exit 1; it said:\n${tail(result.stderr, 10)}`);
    assert.match(result.stderr, /the database has not answered for \d+ s/, "the run should say why it gave up");

    // Once the server answers again the job is recovered (its lease has expired) and run again.
    let output = result.stderr;
    for (let attempt = 0; attempt < 5; attempt++) {
      const probe = await mysql.createConnection(url);
      const [[row]] = (await probe.query("SELECT status FROM job_queue")) as unknown as [[{ status: string }]];
      await probe.end();
      if (row.status === "complete") break;
      await new Promise((resolve) => setTimeout(resolve, LEASE_SECONDS * 1000));
      output += (await runCli(["run", "--max-jobs", "1"], { config, timeoutMs: 60_000 })).stderr;
    }
    const check = await mysql.createConnection(url);
    const [rows] = await check.query("SELECT status, attempts FROM job_queue");
    await check.end();
    assert.deepEqual(rows, [{ status: "complete", attempts: 2 }], `the job should have completed on its second attempt; the runs said:\n${tail(output, 20)}`);
    assert.match(result.stderr, /could not renew leases for \d+ s: stopping 1 job/, "the first run should say why it stopped the job");
    const starts = linesOf(runs);
    assert.equal(starts.length, 2, `the job should have been started twice (once stopped), not ${starts.length} times`);
    const peak = Math.max(...linesOf(peakFile).map(Number));
    assert.equal(peak, 1, "the two attempts must never have run at the same time");
  },
);

test(
  "a waiting worker whose database freezes cuts the silent connections, and runs new jobs once the server answers again",
  { skip: unavailable, timeout: 120_000 },
  async () => {
    const { dir, url } = env;
    const server = env.server!;
    const config = writeConfig(
      dir,
      { database: { url }, hostName: "host-w", lockDir: path.join(dir, "worker-locks"), leaseSeconds: LEASE_SECONDS, handlers: [RECORD_HANDLER] },
      "worker.json",
    );
    assert.equal((await runCli(["init"], { config })).code, 0);
    const connection = await mysql.createConnection(url);
    await connection.query("DELETE FROM job_queue");
    const worker = startCli(["work", "--sleep", "0.5", "--max-jobs", "1"], { config });
    const stderr = stderrSoFar(worker);
    const ended = collect(worker, 100_000);
    try {
      // The worker is connected and idle (its first run found nothing) before the freeze.
      await waitFor(() => /started with up to 1 slot/.test(stderr()), "the worker to start", 20_000);
      await sleep(1000);
      process.kill(server.pid!, "SIGSTOP");
      const frozenAt = Date.now();
      try {
        // With nothing to renew, the heartbeat's sign of life is what goes unanswered.
        await waitFor(
          () => /the database has not answered for \d+ s/.test(stderr()),
          "the worker to notice that the database stopped answering",
          LEASE_SECONDS * 3 * 1000,
        ).catch((error: Error) => {
          throw new Error(`${error.message} (${Math.round((Date.now() - frozenAt) / 1000)} s after the freeze); it said:\n${tail(stderr(), 10)}`);
        });
      } finally {
        process.kill(server.pid!, "SIGCONT");
      }
      const [header] = (await connection.query("INSERT INTO job_queue (type, job_data) VALUES ('record', ?)", [
        JSON.stringify({ file: path.join(dir, "worker-runs.txt") }),
      ])) as unknown as [{ insertId: number }];
      // A connection still in its handshake with the frozen server gives up after connectTimeout
      // (10 s); the worker's next run after that finds the job.
      const done = await waitFor(
        async () => {
          const [rows] = (await connection.query("SELECT status FROM job_queue WHERE ref = ?", [header.insertId])) as unknown as [Array<{ status: string }>];
          return rows[0]?.status === "complete" || undefined;
        },
        "the job added after the thaw to complete",
        40_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; the worker said:\n${tail(stderr(), 15)}`);
      });
      assert.ok(done);
    } finally {
      await connection.end();
      worker.kill("SIGTERM");
    }
    const result = await ended;
    assert.equal(result.code, 0, `the worker should have gone on after the freeze and stopped cleanly on SIGTERM:\n${tail(result.stderr, 15)}`);
  },
);
