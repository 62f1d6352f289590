import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import mysql from "mysql2/promise";
import { collect, linesOf, RECORD_HANDLER, runCli, startCli, waitFor, writeConfig } from "../helpers/cli.js";
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

test("a run whose database freezes stops its job before the lease runs out, and the job later runs again, never twice at once", { skip: unavailable, timeout: 120_000 }, async () => {
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
  await connection.query("INSERT INTO job_queue (type, job_data) VALUES ('record', ?)", [JSON.stringify({ file: runs, sleepMs: 20_000, runningDir, peakFile })]);
  await connection.end();

  const first = startCli(["run", "--max-jobs", "1"], { config });
  const firstResult = collect(first, 100_000);
  await waitFor(() => fs.readdirSync(runningDir).length === 1, "the job to be running");
  process.kill(server.pid!, "SIGSTOP");
  const frozenAt = Date.now();
  try {
    // The last renewal was at most a beat (a third of the lease) before the freeze; the run
    // must stop the job before the lease ends, so well within two leases of the freeze.
    await waitFor(() => fs.readdirSync(runningDir).length === 0, "the run to stop its job while the database is frozen", LEASE_SECONDS * 2 * 1000).catch((error: Error) => {
      throw new Error(`${error.message} (the job was still running ${Date.now() - frozenAt} ms after the freeze; a 20 s job would otherwise run on)`);
    });
  } finally {
    process.kill(server.pid!, "SIGCONT");
  }

  // Once the server answers again the job is recovered (its lease has expired) and run again.
  const result = await firstResult;
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
});
