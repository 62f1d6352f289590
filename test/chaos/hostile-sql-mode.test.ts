import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import mysql from "mysql2/promise";
import { claimJobs } from "../../src/queue/claim.js";
import { openDatabase, SQL_MODE_WITH_BACKSLASH_ESCAPES } from "../../src/queue/db.js";
import { enqueueJobs } from "../../src/queue/enqueue.js";
import { applyMigrations } from "../../src/queue/migrations.js";
import { runCli, writeConfig } from "../helpers/cli.js";
import { tail } from "../helpers/environment.js";
import { privateMariadbUnavailable, usePrivateDatabase } from "../helpers/private-mariadb.js";

/**
 * A server started with sql_mode NO_BACKSLASH_ESCAPES reads a backslash inside a string literal
 * as itself. mysql2 escapes `?` values on the client, with backslashes (`'` becomes `\'`), so on
 * such a server a value could close its literal and go on as SQL. On a private server started
 * in that mode, hostile values must still arrive as plain values.
 */

const unavailable = privateMariadbUnavailable();
const env = usePrivateDatabase("oj_sql_mode", ["--sql-mode=STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES"]);

const HOSTILE_TEXT = "harmless' WHERE 1=1 #";

test(
  "on a NO_BACKSLASH_ESCAPES server, extracted text with a quote cannot rewrite the sink table's other rows",
  { skip: unavailable, timeout: 120_000 },
  async () => {
    const { dir, url } = env;
    const files = path.join(dir, "files");
    fs.mkdirSync(files);
    fs.writeFileSync(path.join(files, "note.txt"), HOSTILE_TEXT);
    const config = writeConfig(dir, {
      database: { url },
      lockDir: path.join(dir, "locks"),
      paths: { readRoots: [files] },
      types: { extract_text: { maxAttempts: 1 } },
      extractText: { sink: { sql: "UPDATE resource_text SET body = :text WHERE resource = :resource" } },
    });
    assert.equal((await runCli(["init"], { config })).code, 0, "init must work on this server");
    const admin = await mysql.createConnection(url);
    try {
      const [[mode]] = (await admin.query("SELECT @@GLOBAL.sql_mode AS mode")) as unknown as [[{ mode: string }]];
      assert.match(mode.mode, /NO_BACKSLASH_ESCAPES/, "the private server must run in NO_BACKSLASH_ESCAPES mode for this test to mean anything");
      // The test's own connection inserts the job as an application that knows its server's mode
      // must: mysql2's escaping is only right in a session without NO_BACKSLASH_ESCAPES.
      await admin.query(SQL_MODE_WITH_BACKSLASH_ESCAPES);
      await admin.query("CREATE TABLE resource_text (resource INT PRIMARY KEY, body TEXT) CHARACTER SET utf8mb4");
      await admin.query("INSERT INTO resource_text VALUES (1, 'first'), (2, 'second'), (3, 'third')");
      await admin.query("INSERT INTO job_queue (type, job_data) VALUES ('extract_text', ?)", [
        JSON.stringify({ source: path.join(files, "note.txt"), resource: 2 }),
      ]);
      const run = await runCli(["run"], { config, timeoutMs: 60_000 });
      const [sink] = (await admin.query("SELECT resource, body FROM resource_text ORDER BY resource")) as unknown as [
        Array<{ resource: number; body: string }>,
      ];
      assert.deepEqual(
        sink.map((row) => [row.resource, row.body]),
        [
          [1, "first"],
          [2, HOSTILE_TEXT],
          [3, "third"],
        ],
        "the text must land in resource 2 exactly, and the other rows must be untouched",
      );
      assert.equal(run.code, 0, `the run failed:\n${tail(run.stderr)}`);
      const [jobs] = (await admin.query("SELECT status, error FROM job_queue")) as unknown as [Array<{ status: string; error: string | null }>];
      assert.equal(jobs[0]!.status, "complete", `the extraction should complete: ${jobs[0]!.error}`);
    } finally {
      await admin.end();
    }
  },
);

test(
  "on a NO_BACKSLASH_ESCAPES server, values with quotes and backslashes go through enqueue and the claim unchanged",
  { skip: unavailable, timeout: 60_000 },
  async () => {
    const db = openDatabase(env.url, "job_queue", 2);
    try {
      await applyMigrations(db);
      const user = "o'brien\\' OR 1=1 #";
      const data = { text: "a\\'b' -- c", path: "C:\\temp\\x'y" };
      const [added] = await enqueueJobs(db, [{ type: "hostile-mode", data, user, code: "code'\\' #" }]);
      // The claim's pool (multi-statement) is the other path values take.
      const claim = await claimJobs(db, { types: ["hostile-mode", "x' OR type <> '"], limits: {}, max: 5, workerId: "w'\\' #", leaseSeconds: 60 });
      assert.deepEqual(
        claim.jobs.map((job) => job.ref),
        [added!.ref],
        "exactly the one job of that type must be claimed",
      );
      assert.equal(claim.jobs[0]!.user, user);
      assert.deepEqual(JSON.parse(claim.jobs[0]!.jobData!), data);
      const [[row]] = (await db.pool.query("SELECT locked_by, job_code FROM job_queue WHERE ref = ?", [added!.ref])) as unknown as [
        [{ locked_by: string; job_code: string }],
      ];
      assert.deepEqual([row.locked_by, row.job_code], ["w'\\' #", "code'\\' #"]);
    } finally {
      await db.close();
    }
  },
);
