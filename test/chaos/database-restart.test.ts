import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import mysql from "mysql2/promise";
import { type CliResult, collect, linesOf, RECORD_HANDLER, runCli, sleep, startCli, stderrSoFar, waitFor, writeConfig } from "../helpers/cli.js";
import { tail } from "../helpers/environment.js";
import { privateMariadbUnavailable, usePrivateDatabase } from "../helpers/private-mariadb.js";

/**
 * docs/reliability.md, "Database restart": the database dies (kill -9) in the middle of a run and comes
 * back on the same data directory a few seconds later. On a private server of this test's
 * own, never the shared one other test files are using.
 *
 * What a run may do meanwhile: carry on once the server is back (exit 0), or exit 1 with one
 * clear line on stderr (every other line a structured log line; no stack trace). It must not
 * hang. A `work` daemon beside them may do the same, or stay and finish the queue once the
 * server is back. Afterwards, once the leases of what the dead connections held have expired,
 * further runs complete every job: none lost, none left running.
 */

const JOBS = Number(process.env.OJ_RESTART_JOBS ?? 300);
const LEASE_SECONDS = 3;
const DOWN_MS = 3000;
const unavailable = privateMariadbUnavailable();

const env = usePrivateDatabase("oj_restart");

/** One statement on a connection of its own: a pool would keep connections the restart kills. */
async function query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  const connection = await mysql.createConnection({ uri: env.url, connectTimeout: 5000 });
  try {
    const [rows] = await connection.query(sql, params);
    return rows as T[];
  } finally {
    await connection.end().catch(() => undefined);
  }
}

function hostConfig(host: string): string {
  return writeConfig(
    env.dir,
    {
      database: { url: env.url },
      hostName: host,
      lockDir: path.join(env.dir, `locks-${host}`),
      leaseSeconds: LEASE_SECONDS,
      lockStaleSeconds: 2,
      handlers: [RECORD_HANDLER],
      // A job held by a dead connection loses an attempt: the cap must not be what this test measures.
      types: { record: { maxAttempts: 10 } },
    },
    `${host}.json`,
  );
}

/**
 * A run that met the outage: exit 0, or exit 1 with exactly one line that is not a JSON log
 * line, and that line is offline-jobs' own one-sentence error. Returns a description for the report.
 */
function judge(name: string, result: CliResult): string {
  const lines = result.stderr.split("\n").filter(Boolean);
  const plain = lines.filter((line) => !isLogLine(line));
  assert.doesNotMatch(result.stderr, /^\s+at .+[:(]\d+:\d+\)?$/m, `${name} printed a stack trace:\n${tail(result.stderr, 30)}`);
  if (result.code === 0) {
    assert.deepEqual(plain, [], `${name} exited 0 but printed lines that are not log lines:\n${tail(result.stderr)}`);
    return `${name}: carried on, exit 0`;
  }
  assert.equal(result.code, 1, `${name} should exit 0 (carried on) or 1 (gave up), not ${result.code ?? result.signal}:\n${tail(result.stderr, 30)}`);
  assert.equal(plain.length, 1, `${name} exited 1: stderr should hold exactly one line besides its log lines, found ${plain.length}:\n${plain.join("\n")}`);
  assert.match(
    plain[0]!,
    /^offline-jobs: .*(database|connect|ECONN|PROTOCOL|unreachable)/i,
    `${name}'s last line should say the database is the problem: ${plain[0]}`,
  );
  return `${name}: exit 1, "${plain[0]}"`;
}

function isLogLine(line: string): boolean {
  try {
    const parsed = JSON.parse(line) as { level?: unknown; msg?: unknown };
    return typeof parsed.level === "string" && typeof parsed.msg === "string";
  } catch {
    return false;
  }
}

test(
  "the database killed and restarted mid-run: each run and the worker carry on or exit 1 with one clear line; afterwards every job completes, none lost, none left running",
  { skip: unavailable, timeout: 180_000 },
  async (t) => {
    const configs = ["host-a", "host-b", "host-c"].map(hostConfig);
    const workerConfig = hostConfig("host-d");
    const init = await runCli(["init"], { config: configs[0] });
    assert.equal(init.code, 0, `init on the private server failed:\n${init.stderr}`);

    const recordFile = path.join(env.dir, "runs.txt");
    const rows = Array.from({ length: JOBS }, (_, i) => ["record", JSON.stringify({ file: recordFile, sleepMs: 20 + (i % 5) * 10 })]);
    await query("INSERT INTO job_queue (type, job_data) VALUES ?", [rows]);
    const refs = (await query<{ ref: number }>("SELECT ref FROM job_queue ORDER BY ref")).map((r) => Number(r.ref));
    assert.equal(refs.length, JOBS);

    const runs = configs.map((config, i) => ({
      name: `run ${i + 1} (host-${"abc"[i]})`,
      result: collect(startCli(["run", "--max-jobs", "3"], { config }), 120_000),
    }));
    // A long-lived worker beside the cron-style runs: the daemon systemd keeps going.
    const worker = startCli(["work", "--max-jobs", "3", "--sleep", "0.5"], { config: workerConfig });
    const workerOutput = stderrSoFar(worker);
    let workerExit: CliResult | undefined;
    const workerResult = collect(worker, 170_000).then((r) => (workerExit = r));
    /** How the worker ended, if it has (a function: the callbacks below change it). */
    const workerEnded = () => workerExit;
    await waitFor(() => linesOf(recordFile).length >= JOBS / 5, "a fifth of the jobs to have started", 60_000);
    // The worker too must be at work (not still starting, which would only test a failed start).
    await waitFor(
      async () => (await query("SELECT ref FROM job_queue WHERE locked_by LIKE 'host-d:%' LIMIT 1")).length > 0,
      "the worker to claim jobs",
      60_000,
    );

    await env.server!.kill();
    const killedAt = Date.now();
    const doneBeforeKill = linesOf(recordFile).length;

    // A run started while the server is down cannot even connect: one line, exit 1, promptly.
    const during = await runCli(["run"], { config: configs[0], timeoutMs: 30_000 });
    assert.equal(during.code, 1, `a run started while the database is down should exit 1:\n${tail(during.stderr)}`);
    const duringLine = judge("a run started during the outage", during);

    await sleep(Math.max(0, killedAt + DOWN_MS - Date.now()));
    await env.server!.start();
    t.diagnostic(`database down for ${((Date.now() - killedAt) / 1000).toFixed(1)} s after ${doneBeforeKill} of ${JOBS} jobs had started`);

    // Rejects (and kills the run) if it hangs for 2 minutes.
    const ended = await Promise.all(runs.map((r) => r.result));
    const verdicts = ended.map((result, i) => judge(runs[i]!.name, result));
    for (const line of [duringLine, ...verdicts]) t.diagnostic(line);

    // The worker either gave up like a run (systemd restarts it), or it is still there: then it
    // must be working again, finishing the queue alone (it recovers expired leases as it goes).
    await sleep(1000);
    const gaveUp = workerEnded();
    if (gaveUp) {
      t.diagnostic(judge("the worker", gaveUp));
    } else {
      const [left] = await query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status <> 'complete'");
      await waitFor(
        async () => workerEnded() || Number((await query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status <> 'complete'"))[0]!.n) === 0,
        `the surviving worker to finish the ${left!.n} job(s) left`,
        60_000,
      ).catch(async (error: Error) => {
        const byStatus = await query<{ status: string; n: number }>("SELECT status, COUNT(*) AS n FROM job_queue GROUP BY status");
        throw new Error(`${error.message}; by status ${JSON.stringify(byStatus)}; the worker said:\n${tail(workerOutput(), 25)}`);
      });
      assert.equal(workerEnded(), undefined, `the worker survived the outage, then died:\n${tail(workerEnded()?.stderr ?? "")}`);
      t.diagnostic(`the worker: reconnected and finished the ${left!.n} job(s) left by itself`);
      worker.kill("SIGTERM");
      const stopped = await workerResult;
      assert.equal(stopped.code, 0, `the worker should stop cleanly on SIGTERM:\n${tail(stopped.stderr)}`);
    }

    // What the dead connections held is recovered once its leases expire: run until every job is done.
    let passes = 0;
    for (; passes < 10; passes++) {
      const [left] = await query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status <> 'complete'");
      if (Number(left!.n) === 0) break;
      const [running] = await query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status = 'running'");
      if (Number(running!.n) > 0) await sleep(LEASE_SECONDS * 1000 + 500); // let leases of dead holders run out
      const again = await runCli(["run", "--max-jobs", "4"], { config: configs[passes % configs.length], timeoutMs: 60_000 });
      assert.equal(again.code, 0, `a run after the database came back failed:\n${tail(again.stderr)}`);
    }
    t.diagnostic(`${passes} run(s) after the restart to finish the queue`);

    const byStatus = await query<{ status: string; n: number }>("SELECT status, COUNT(*) AS n FROM job_queue GROUP BY status");
    assert.deepEqual(
      byStatus.map((r) => [r.status, Number(r.n)]),
      [["complete", JOBS]],
      `every job should be complete after the restart; by status: ${JSON.stringify(byStatus)}`,
    );
    const seen = new Map<number, number>();
    for (const line of linesOf(recordFile)) {
      const ref = Number(line.split(" ")[0]);
      seen.set(ref, (seen.get(ref) ?? 0) + 1);
    }
    const never = refs.filter((ref) => !seen.has(ref));
    assert.deepEqual(never, [], `jobs complete in the table whose handler never ran: ${never.slice(0, 20).join(", ")}`);
    const repeats = [...seen.values()].reduce((a, n) => a + n - 1, 0);
    t.diagnostic(`database restart: ${JOBS} jobs, ${repeats} handler run(s) repeated (jobs whose result was lost with the connection)`);
  },
);

test(
  "a worker through an outage longer than its lease waits, starts afresh when the database is back (its slots not left held), and finishes the queue",
  { skip: unavailable, timeout: 180_000 },
  async () => {
    // Down for longer than the lease: the worker's pending results are given up on (they are
    // recovered by lease), its runs fail one after another while the server is away — some at
    // their very first query — and each must give its slots back, or the next would find every
    // slot "busy" and the worker would wait forever. It carries on once the server answers.
    const admin = await mysql.createConnection(env.server!.serverUrl);
    await admin.query("CREATE DATABASE oj_long_outage CHARACTER SET utf8mb4");
    await admin.end();
    const longUrl = `${env.server!.serverUrl}/oj_long_outage`;
    const config = writeConfig(
      env.dir,
      {
        database: { url: longUrl },
        hostName: "host-w",
        lockDir: path.join(env.dir, "locks-long"),
        leaseSeconds: LEASE_SECONDS,
        lockStaleSeconds: 2,
        handlers: [RECORD_HANDLER],
        types: { record: { maxAttempts: 10 } },
      },
      "long-outage.json",
    );
    assert.equal((await runCli(["init"], { config })).code, 0);
    const count = async (where: string) => {
      const connection = await mysql.createConnection({ uri: longUrl, connectTimeout: 5000 });
      try {
        const [rows] = await connection.query(`SELECT COUNT(*) AS n FROM job_queue WHERE ${where}`);
        return Number((rows as Array<{ n: number }>)[0]!.n);
      } finally {
        await connection.end().catch(() => undefined);
      }
    };
    const recordFile = path.join(env.dir, "long-outage.runs");
    const connection = await mysql.createConnection({ uri: longUrl });
    await connection.query("INSERT INTO job_queue (type, job_data) VALUES ?", [
      Array.from({ length: 150 }, () => ["record", JSON.stringify({ file: recordFile, sleepMs: 50 })]),
    ]);
    await connection.end();

    const worker = startCli(["work", "--max-jobs", "3", "--sleep", "0.5"], { config });
    const output = stderrSoFar(worker);
    const result = collect(worker, 170_000);
    await waitFor(() => linesOf(recordFile).length >= 20, "the worker to be at work", 60_000);
    await env.server!.kill();
    await sleep((LEASE_SECONDS + 5) * 1000);
    await env.server!.start();
    await waitFor(async () => (await count("status <> 'complete'")) === 0, "the worker to finish the queue after the outage", 90_000).catch((error: Error) => {
      throw new Error(`${error.message}; the worker said:\n${tail(output(), 20)}`);
    });
    worker.kill("SIGTERM");
    const stopped = await result;
    assert.equal(stopped.code, 0, `the worker should stop cleanly on SIGTERM:\n${tail(stopped.stderr)}`);
    assert.match(stopped.stderr, /database unreachable .*trying again/, "the worker said it was waiting for the database");
  },
);
