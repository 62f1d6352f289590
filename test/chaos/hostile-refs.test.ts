import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { enqueueJobs } from "../../src/queue/enqueue.js";
import { linesOf, runCli } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * Refs beyond 2^53 − 1, which a JS number rounds (9007199254740993 becomes …992). One explicit
 * INSERT is enough to get there, and AUTO_INCREMENT stays past it for good. No ref may be
 * acted on rounded: not by the claim, not by the finish, not by recovery, not by `add`.
 */

let config: string;
let trace: string;
const env = useTestEnvironment("oj-hostile-refs-", (e) => {
  config = hostConfig(e, "host-a");
  trace = path.join(e.dir, "runs.txt");
});

const BIG = 2n ** 53n; // 9007199254740992: what 9007199254740993 rounds to
const ref = (offset: number) => (BIG + BigInt(offset)).toString();
const REFUSAL = (r: string) => `its ref ${r} is above 9007199254740991 (2^53 - 1), the largest ref offline-jobs carries exactly, so it was not run`;

interface Found {
  ref: string;
  status: string;
  error: string | null;
  result: string | null;
  log: string | null;
  attempts: number;
}

async function rowsByRef(): Promise<Map<string, Found>> {
  const rows = await env.db.query<Found>("SELECT CAST(ref AS CHAR) AS ref, status, error, result, log, attempts FROM job_queue");
  return new Map(rows.map((row) => [row.ref, row]));
}

test(
  "a pending and a running row with refs beyond 2^53 fail by their exact refs; their complete neighbours stay untouched, and the other jobs run once",
  { timeout: 120_000 },
  async () => {
    const data = JSON.stringify({ file: trace });
    const normal: string[] = [];
    for (let i = 0; i < 4; i++) normal.push(String(await env.db.insertJob("record", { file: trace })));
    // Complete rows at the refs a rounded ref would land on: a write to any of them is the bug.
    for (const offset of [0, 2, 4]) {
      await env.db.query(
        "INSERT INTO job_queue (ref, type, job_data, status, result, finished_at) VALUES (?, 'record', ?, 'complete', '\"untouched\"', '2020-01-01')",
        [ref(offset), data],
      );
    }
    await env.db.query("INSERT INTO job_queue (ref, type, job_data) VALUES (?, 'record', ?)", [ref(1), data]);
    await env.db.query(
      "INSERT INTO job_queue (ref, type, job_data, status, lock_token, locked_by, lease_until) VALUES (?, 'record', ?, 'running', REPEAT('a', 32), 'gone:1', NOW(3) - INTERVAL 1 MINUTE)",
      [ref(3), data],
    );

    const run = await runCli(["run"], { config, timeoutMs: 60_000 });
    assert.equal(run.code, 0, `the run must go through the queue:\n${tail(run.stderr)}`);
    const rows = await rowsByRef();
    for (const offset of [0, 2, 4]) {
      const row = rows.get(ref(offset))!;
      assert.deepEqual(
        [row.status, row.result, row.log, row.attempts],
        ["complete", '"untouched"', null, 0],
        `job ${ref(offset)} must be left exactly as it was`,
      );
    }
    for (const offset of [1, 3]) {
      const row = rows.get(ref(offset))!;
      assert.equal(row.status, "failed", `job ${ref(offset)} must be failed, not run and not left ${row.status}`);
      assert.equal(row.error, REFUSAL(ref(offset)), `job ${ref(offset)}: the error must name its exact ref`);
    }
    const runs = linesOf(trace).map((line) => line.split(" ")[0]!);
    assert.deepEqual(runs.sort(), [...normal].sort(), "each normal job must run once, and no job with a large ref at all");
    for (const r of normal) assert.equal(rows.get(r)!.status, "complete", `job ${r}`);
  },
);

test(
  "once AUTO_INCREMENT is past 2^53, add and enqueue() refuse with a clear error and leave no row; --job refuses such a ref",
  { timeout: 60_000 },
  async () => {
    // The first test's explicit INSERTs moved the counter past 2^53 for good.
    const before = await env.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue");
    const add = await runCli(["add", "record", "--data", JSON.stringify({ file: trace })], { config });
    assert.notEqual(add.code, 0, "add must fail rather than report a rounded ref");
    assert.match(add.stderr, /nothing was added: the job table's AUTO_INCREMENT gave ref 900719925474099\d, above 9007199254740991/);
    await assert.rejects(enqueueJobs(env.db.db, [{ type: "record", data: { file: trace } }]), /nothing was added/, "enqueue() must refuse too");
    await assert.rejects(
      enqueueJobs(env.db.db, [
        { type: "record", data: { file: trace } },
        { type: "record", data: { file: trace } },
      ]),
      /nothing was added/,
      "a batch must refuse as a whole",
    );
    const after = await env.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue");
    assert.equal(Number(after[0]!.n), Number(before[0]!.n), "no row may be left behind by a refused add");

    const single = await runCli(["--job", ref(1)], { config });
    assert.equal(single.code, 2, `--job with a ref beyond 2^53 - 1 must be refused as a usage error:\n${tail(single.stderr)}`);
    assert.match(single.stderr, /9007199254740991/, "the refusal must name the largest ref");
    const rows = await rowsByRef();
    assert.equal(rows.get(ref(0))!.log, null, `job ${ref(0)} (what ${ref(1)} rounds to) must not have been touched by --job`);
  },
);
