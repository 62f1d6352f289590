import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import mysql from "mysql2/promise";
import { silentLogger } from "../../src/logger.js";
import { openDatabase } from "../../src/queue/db.js";
import { finishJobs, type Outcome } from "../../src/queue/finish.js";
import { applyMigrations } from "../../src/queue/migrations.js";
import { outcomeBytes, STATEMENT_SQL } from "../../src/queue/statement-size.js";
import { Finisher } from "../../src/runner/loop/finisher.js";
import { OutcomeBounds } from "../../src/runner/attempt/outcome-bounds.js";
import { runCli, writeConfig } from "../helpers/cli.js";
import { tail } from "../helpers/environment.js";
import { privateMariadbUnavailable, usePrivateDatabase } from "../helpers/private-mariadb.js";

/**
 * Outcomes go to the database many to a statement, and the server refuses a statement larger
 * than its max_allowed_packet: one large result (an extracted text, a long log) used to fail the
 * whole statement, and with it the outcomes of unrelated jobs, which then ran again. On a private
 * server with a 1 MB max_allowed_packet, so that "large" stays small.
 */

const unavailable = privateMariadbUnavailable();
const env = usePrivateDatabase("oj_outcome_size", ["--max-allowed-packet=1M"]);
const TOKEN = "f".repeat(32);

interface Row {
  ref: number;
  type: string;
  status: string;
  attempts: number;
  error: string | null;
  result: string | null;
  log: string | null;
}

async function query<T = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
  const connection = await mysql.createConnection({ uri: env.url });
  try {
    const [rows] = await connection.query(sql, params);
    return rows as T[];
  } finally {
    await connection.end();
  }
}

test("one outcome too large for a statement fails alone: the small outcomes gathered with it are all recorded", { skip: unavailable }, async () => {
  const db = openDatabase(env.url, "job_queue");
  try {
    await applyMigrations(db);
    await query("DELETE FROM job_queue");
    await query("INSERT INTO job_queue (type, job_data, status, lock_token, attempts) VALUES ?", [
      Array.from({ length: 9 }, () => ["noop", "{}", "running", TOKEN, 1]),
    ]);
    const refs = (await query<{ ref: number }>("SELECT ref FROM job_queue ORDER BY ref")).map((r) => Number(r.ref));
    const huge = refs[0]!;
    const outcomes: Outcome[] = refs.map((ref, i) => {
      // 1.5 MB of result: more than the server takes in a statement at all.
      if (ref === huge) return { kind: "complete", ref, token: TOKEN, result: JSON.stringify({ text: "x".repeat(1_500_000) }), log: "big\n" };
      // Three of 300 KB: each fits, two together do not.
      if (i <= 3) return { kind: "complete", ref, token: TOKEN, result: JSON.stringify({ text: "é'".repeat(50_000 * i) }), log: `medium ${i}\n` };
      return { kind: "complete", ref, token: TOKEN, result: "{}", log: `small ${i}\n` };
    });
    const finisher = new Finisher(db, new OutcomeBounds(65_536).withPacket(1024 * 1024), silentLogger, 5_000, undefined, { outcomes: 64, ms: 600_000 });
    const added = outcomes.map((o) => finisher.add(o, { type: "noop", user: null }));
    await finisher.drain(); // all nine in one write, as a busy run would gather them
    await Promise.all(added);
    assert.equal(finisher.failed, undefined, "the Finisher must not give up on the database over one outcome's size");
    const rows = await query("SELECT ref, status, error, log FROM job_queue ORDER BY ref");
    for (const row of rows.filter((r) => Number(r.ref) !== huge)) {
      assert.equal(row.status, "complete", `job ${row.ref} must be recorded though a large outcome was gathered with it`);
    }
    const big = rows.find((r) => Number(r.ref) === huge)!;
    assert.equal(big.status, "failed");
    assert.match(
      big.error ?? "",
      /^its outcome \(1\.\d MB\) is too large to record: the database accepts at most 1 MB in one statement \(max_allowed_packet\)$/,
    );
    assert.match(big.log ?? "", /big\n.*error failed: its outcome/s, "its log must be kept, with why it failed");
  } finally {
    await db.close();
  }
});

test(
  "a run with a result over the limit and a log at logMaxBytes' maximum records every other job once, fails the large one with a clear sentence, and truncates the log",
  { skip: unavailable, timeout: 120_000 },
  async () => {
    const files = path.join(env.dir, "files");
    fs.mkdirSync(files, { recursive: true });
    // Words, so that the extracted text stays as long as the file: ~1.2 MB (cut at extractText.maxChars, 1M) and ~200 KB.
    const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i % 1000}`).join(" ");
    fs.writeFileSync(path.join(files, "large.txt"), words(150_000));
    fs.writeFileSync(path.join(files, "fits.txt"), words(25_000));
    const config = writeConfig(env.dir, {
      database: { url: env.url },
      lockDir: path.join(env.dir, "locks"),
      paths: { readRoots: [files] },
      logMaxBytes: 16 * 1024 * 1024,
      types: { command: { maxAttempts: 1 }, extract_text: { maxAttempts: 3 } },
      // ~2.5 MB of output: a log larger than the packet, truncated rather than lost.
      commands: { chatty: { argv: ["sh", "-c", "seq 1 400000; echo THE-END"] } },
    });
    assert.equal((await runCli(["init"], { config })).code, 0);
    await query("DELETE FROM job_queue");
    const insert = (type: string, data: unknown) => query("INSERT INTO job_queue (type, job_data) VALUES (?, ?)", [type, JSON.stringify(data)]);
    await insert("extract_text", { source: path.join(files, "large.txt") });
    await insert("extract_text", { source: path.join(files, "fits.txt") });
    await insert("command", { command: "chatty" });
    for (let i = 0; i < 6; i++) await insert("noop", {});

    const run = await runCli(["run", "--max-jobs", "4"], { config });
    assert.doesNotMatch(run.stderr, /could not record|max_allowed_packet' bytes/, `no write may fail:\n${tail(run.stderr)}`);
    assert.match(
      run.stderr,
      /logMaxBytes 16777216 is more than the database's max_allowed_packet \(1 MB\) lets a log append carry; job logs keep their last 65536 characters/,
      "the run says once that the log cap is lower than configured",
    );

    const rows = await query("SELECT ref, type, status, attempts, error, result, log FROM job_queue ORDER BY ref");
    const [large, fits, chatty, ...noops] = rows;
    assert.equal(large!.status, "failed", `the oversized result must fail its job: ${large!.error}`);
    assert.match(
      large!.error ?? "",
      /^its result \(9\d\d KB\) is too large to record: a result may take at most half of what the database accepts in one statement \(max_allowed_packet 1 MB\)$/,
    );
    assert.equal(large!.attempts, 1, "a result too large is permanent: retrying would make the same");
    assert.match(JSON.parse(large!.result!).notice, /too large to record/, "its notice says why");
    assert.equal(fits!.status, "complete", `a result under the limit is recorded: ${fits!.error}`);
    assert.equal(chatty!.status, "complete", `a long log must not fail its job: ${chatty!.error}`);
    assert.match(chatty!.log ?? "", /\[… earlier log dropped\]/, "the log must say that its start was dropped");
    assert.match(chatty!.log ?? "", /THE-END\n/, "the log must keep its end");
    assert.ok(chatty!.log!.length <= 65_536, `the log is capped by the packet (P/16), not logMaxBytes: ${chatty!.log!.length} characters`);
    for (const row of noops) {
      assert.equal(row.status, "complete");
      assert.equal(row.attempts, 1, `job ${row.ref} must have run once, not again after a lost write`);
    }
  },
);

test("the size the runner counts for a batch of outcomes is never less than the statement mysql2 sends", { skip: unavailable }, async () => {
  const db = openDatabase(env.url, "job_queue");
  const sent: number[] = [];
  const query = db.pool.query.bind(db.pool);
  // Every statement through the pool, as the server receives its text.
  (db.pool as unknown as { query: unknown }).query = (sql: string, params?: unknown[]) => {
    sent.push(Buffer.byteLength(mysql.format(sql, (params ?? []) as never)));
    return query(sql, params);
  };
  try {
    await applyMigrations(db);
    await db.pool.query("DELETE FROM job_queue");
    await db.pool.query("INSERT INTO job_queue (type, job_data, status, lock_token, attempts) VALUES ?", [
      Array.from({ length: 40 }, () => ["noop", "{}", "running", TOKEN, 1]),
    ]);
    const [found] = await db.pool.query("SELECT ref FROM job_queue ORDER BY ref");
    const awkward = "'\"\\\0\n\r\t\b\x1a é € 😀 ";
    const outcomes: Outcome[] = (found as Array<{ ref: number }>).map(({ ref }, i) =>
      i % 3 === 0
        ? { kind: "complete", ref: Number(ref), token: TOKEN, result: JSON.stringify({ text: awkward.repeat(i * 50) }), log: awkward.repeat(i) }
        : i % 3 === 1
          ? { kind: "failed", ref: Number(ref), token: `${i}`.padStart(32, "t"), result: null, error: awkward.repeat(5), log: awkward }
          : { kind: "retry", ref: Number(ref), token: TOKEN, error: awkward, log: awkward.repeat(i * 30), delaySeconds: 30 },
    );
    sent.length = 0;
    await finishJobs(db, outcomes, 65_536);
    const counted = STATEMENT_SQL + outcomes.reduce((sum, o) => sum + outcomeBytes(o), 0);
    assert.ok(sent[0]! <= counted, `the finish statement was ${sent[0]} bytes, more than the ${counted} counted`);
  } finally {
    await db.close();
  }
});

test("an outcome failed for its size keeps when its attempt started and ended, for started_at and finished_at", () => {
  const bounds = new OutcomeBounds(65_536).withPacket(1024 * 1024);
  const huge: Outcome = { kind: "complete", ref: 1, token: TOKEN, startedAt: 1_000, endedAt: 2_000, result: "x".repeat(1_500_000), log: "" };
  const fitted = bounds.fit(huge, 1_500_000);
  assert.equal(fitted.kind, "failed", "a 1.5 MB outcome cannot be recorded under a 1 MB packet");
  assert.deepEqual([fitted.startedAt, fitted.endedAt], [1_000, 2_000], "the failed outcome lost the attempt's instants");
});
