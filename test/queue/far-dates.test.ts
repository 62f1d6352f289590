import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { enqueueJobs } from "../../src/queue/enqueue.js";
import { instantSql } from "../../src/queue/instant.js";
import { runCli, writeConfig } from "../helpers/cli.js";
import { useTestEnvironment } from "../helpers/environment.js";

/**
 * A DATETIME holds the years 1000–9999, and a job may be meant for any of them: dates after
 * 2038-01-19 (where FROM_UNIXTIME stops on MariaDB 10.11) reach the column intact, from
 * `add --run-at`, `add --batch` and enqueue(), in the server's time zone.
 */

const env = useTestEnvironment("oj-far-dates-");

function config(): string {
  return writeConfig(env.dir, { database: { url: env.db.url }, lockDir: path.join(env.dir, "locks") });
}

async function runAfterOf(ref: number): Promise<string> {
  const [row] = await env.db.query<{ run_after: string }>("SELECT run_after FROM job_queue WHERE ref = ?", [ref]);
  return row!.run_after;
}

/** The expression evaluated on one connection whose session time zone is `zone`. */
async function evaluateIn(zone: string, instant: Date): Promise<string> {
  const connection = await env.db.db.pool.getConnection();
  try {
    await connection.query("SET time_zone = ?", [zone]);
    const { sql, params } = instantSql(instant);
    const [rows] = await connection.query(`SELECT CAST(${sql} AS DATETIME(3)) AS at`, params);
    return (rows as Array<{ at: string }>)[0]!.at;
  } finally {
    await connection.query("SET time_zone = DEFAULT");
    connection.release();
  }
}

test("add --run-at 2099-01-01T00:00:00Z is accepted and stored as that instant", async () => {
  const added = await runCli(["add", "noop", "--run-at", "2099-01-01T00:00:00Z"], { config: config() });
  assert.equal(added.code, 0, `add must accept a date after 2038; stderr:\n${added.stderr}`);
  const [row] = await env.db.query<{ ref: number; run_after: string; due: number }>(
    "SELECT ref, run_after, run_after <= NOW(3) AS due FROM job_queue ORDER BY ref DESC LIMIT 1",
  );
  assert.match(row!.run_after, /^(2098-12-31|2099-01-01) /, `run_after is in 2099 (within a day of UTC), got ${row!.run_after}`);
  assert.equal(Number(row!.due), 0, "a job for 2099 is not due now");
});

test("add --batch takes runAt after 2038, and enqueue() takes any instant a DATETIME holds", async () => {
  const batch = path.join(env.dir, "far.jsonl");
  fs.writeFileSync(batch, `${JSON.stringify({ type: "noop", runAt: "2150-06-30T12:00:00Z" })}\n`);
  const added = await runCli(["add", "--batch", batch], { config: config() });
  assert.equal(added.code, 0, `add --batch must accept runAt in 2150; stderr:\n${added.stderr}`);

  const [far, past, end] = await enqueueJobs(env.db.db, [
    { type: "noop", runAt: new Date("2500-03-01T08:30:00.250Z") },
    { type: "noop", runAt: new Date("1960-01-01T00:00:00Z") },
    { type: "noop", runAt: new Date("9999-12-31T23:59:59.999Z") },
  ]);
  // This machine's server runs in UTC (SYSTEM); any fixed offset is checked below.
  const [{ zone }] = (await env.db.query<{ zone: number }>("SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW()) AS zone")) as [{ zone: number }];
  if (Number(zone) === 0) {
    assert.equal(await runAfterOf(far!.ref), "2500-03-01 08:30:00.250");
    assert.equal(await runAfterOf(past!.ref), "1960-01-01 00:00:00.000");
    assert.equal(await runAfterOf(end!.ref), "9999-12-31 23:59:59.999");
  }
});

test("a far instant is written in the session's time zone, and one past the column's end is kept at its end", async () => {
  const instant = new Date("2099-07-01T00:00:00Z");
  assert.equal(await evaluateIn("+02:00", instant), "2099-07-01 02:00:00.000");
  assert.equal(await evaluateIn("-05:30", instant), "2099-06-30 18:30:00.000");
  assert.equal(await evaluateIn("+00:00", new Date("2038-01-19T03:14:08Z")), "2038-01-19 03:14:08.000", "the first second FROM_UNIXTIME refuses");
  assert.equal(await evaluateIn("+00:00", new Date("2038-01-19T03:14:07Z")), "2038-01-19 03:14:07.000", "the last second it takes");
  assert.equal(await evaluateIn("+03:00", new Date("9999-12-31T23:00:00Z")), "9999-12-31 23:59:59.999", "kept at the column's end, not an error");
  assert.equal(await evaluateIn("-03:00", new Date("1000-01-01T01:00:00Z")), "1000-01-01 00:00:00.000", "kept at the column's start");
});
