import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { makeTempDir, runCli, writeConfig } from "../helpers/cli.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

let t: TestDatabase;
let dir: string;
let config: string;
before(async () => {
  t = await createTestDatabase({ migrate: false });
  dir = makeTempDir();
  config = writeConfig(dir, { database: { url: t.url }, lockDir: path.join(dir, "locks") });
});
after(async () => {
  await t.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("before init, commands refuse the stale schema with 'run offline-jobs init' and exit 1", async () => {
  const run = await runCli(["list"], { config });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /schema version 0, this offline-jobs needs \d+: run offline-jobs init/);
  const init = await runCli(["init"], { config });
  assert.equal(init.code, 0, init.stderr);
  assert.equal((await runCli(["list"], { config })).code, 0);
});

test("a usage error exits 2 with one line", async () => {
  const run = await runCli(["--max-jobs", "0"], { config });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--max-jobs: must be at least 1/);
  assert.equal((await runCli(["--no-such-flag"], { config })).code, 2);
  assert.equal((await runCli(["add"], { config })).code, 2, "add without a type");
  assert.equal((await runCli(["add", "noop", "--data", "{oops"], { config })).code, 2, "add with malformed JSON");
});

test("a misspelt command is an unknown command with a suggestion, not 'too many arguments for run'", async () => {
  const typo = await runCli(["lsit"], { config });
  assert.equal(typo.code, 2);
  assert.equal(typo.stderr.trim(), "offline-jobs: unknown command 'lsit' (did you mean list?) (see offline-jobs --help)");
  const unknown = await runCli(["frobnicate"], { config });
  assert.equal(unknown.code, 2);
  assert.doesNotMatch(unknown.stderr, /did you mean|too many arguments/, unknown.stderr);
});

test("with no config file and no URL, the error says which files were looked for", async () => {
  const empty = path.join(dir, "empty");
  fs.mkdirSync(empty, { recursive: true });
  const run = await runCli(["list"], { cwd: empty, env: { OFFLINE_JOBS_CONFIG: "" } });
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr.trim(),
    `offline-jobs: no database configured: no config file was found (looked for --config, $OFFLINE_JOBS_CONFIG, then ${path.join(empty, "config.json")}), and OFFLINE_JOBS_DATABASE_URL is not set`,
  );
});

test("an unreachable database exits 1 with one clear line that does not show the password", async () => {
  const bad = writeConfig(dir, { database: { url: "mysql://app:s3cret-pw@127.0.0.1:1/app" }, lockDir: path.join(dir, "locks") }, "bad.json");
  const run = await runCli([], { config: bad });
  assert.equal(run.code, 1);
  assert.equal(run.stderr.trim().split("\n").length, 1, `one line, got:\n${run.stderr}`);
  assert.match(run.stderr, /database is unreachable or refused us: nothing answers at that address and port \(is the server running\?\) \[ECONNREFUSED\]/);
  assert.doesNotMatch(run.stderr + run.stdout, /s3cret-pw/);
});

test("an invalid config exits 1 naming the key, without echoing the value", async () => {
  const bad = writeConfig(dir, { database: { url: "mysql://app:s3cret-pw@127.0.0.1/app", table: "jobs; drop" } }, "bad-table.json");
  const run = await runCli(["list"], { config: bad });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /database\.table: must be a plain SQL identifier/);
  assert.doesNotMatch(run.stderr, /s3cret-pw/);
});

test("a run that finds nothing to do exits 0, and --help shows the run flags with examples", async () => {
  assert.equal((await runCli(["--quiet"], { config })).code, 0);
  const help = await runCli(["--help"], { config });
  assert.equal(help.code, 0);
  for (const flag of ["--job", "--clear-lock", "--max-jobs", "offline-jobs --job 256"]) assert.ok(help.stdout.includes(flag), `--help mentions ${flag}`);
});
