import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { isAlive, makeTempDir, runCli, waitFor, writeConfig } from "../helpers/cli.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

let t: TestDatabase;
let dir: string;
let config: string;

before(async () => {
  t = await createTestDatabase();
  dir = makeTempDir();
  fs.mkdirSync(path.join(dir, "files"));
  fs.mkdirSync(path.join(dir, "run"));
  fs.writeFileSync(path.join(dir, "files", "inside.txt"), "inside the roots\n");
  fs.symlinkSync("/etc/hostname", path.join(dir, "files", "escape.txt"));
  config = writeConfig(dir, {
    database: { url: t.url },
    lockDir: path.join(dir, "locks"),
    paths: { readRoots: [path.join(dir, "files")], writeRoots: [path.join(dir, "run")] },
    types: { command: { maxAttempts: 1, timeoutSeconds: 1 } },
    commands: {
      cat: { argv: ["cat", "{file}"], args: { file: "read" }, usableBy: ["command"] },
      slow: { argv: ["sleep", "2"], timeoutSeconds: 20 },
      echo: { argv: ["printf", "[%s]\\n", "{a}", "{b}", "ref={ref}", "user={user}"], args: { a: { pattern: "[\\s\\S]*" }, b: { pattern: "[\\s\\S]*" } } },
      greet: {
        argv: ["echo", "{greeting}", "{name}"],
        args: { greeting: { pattern: "hello|goodbye" }, name: { pattern: "[a-z]+", maxLength: 8 } },
        usableBy: ["command"],
      },
      exit3: { argv: ["sh", "-c", "echo going wrong >&2; exit 3"] },
      flaky: { argv: ["sh", "-c", "exit 75"], transientExitCodes: [75] },
      // A shell that starts a grandchild and waits: the timeout must kill both.
      hang: { argv: ["sh", "-c", "sleep 300 & echo $! > {pidfile}; wait"], args: { pidfile: "write" }, timeoutSeconds: 1 },
      missing: { argv: ["/nonexistent/program"] },
      elsewhere: { argv: ["echo", "hi"], cwd: "/var/www/no-such-app" },
      env: { argv: ["env"] },
    },
  });
});
after(async () => {
  await t.drop();
});

async function runJob(data: unknown, user: string | null = null, env: NodeJS.ProcessEnv = {}) {
  const ref = await t.insertJob("command", data, { user });
  const run = await runCli(["--job", String(ref)], { config, env });
  const [row] = await t.query<Record<string, any>>("SELECT * FROM job_queue WHERE ref = ?", [ref]);
  return { run, row: row!, ref: Number(ref) };
}

test("placeholders fill whole argv elements: spaces and shell metacharacters stay inside one argument", async () => {
  const hostile = "x; rm -rf / $(touch pwned) `id`";
  const { run, row, ref } = await runJob({ command: "echo", args: { a: "two words", b: hostile } }, "ann");
  assert.equal(run.code, 0, run.stderr);
  assert.equal(row.status, "complete");
  assert.deepEqual(JSON.parse(row.result).exitCode, 0);
  assert.match(row.log, /\[two words\]\n/);
  assert.ok(row.log.includes(`[${hostile}]\n`), "the hostile argument arrives as one literal argument");
  assert.match(row.log, new RegExp(`\\[ref=${ref}\\]\\n\\[user=ann\\]`));
  assert.equal(fs.existsSync(path.join(process.cwd(), "pwned")), false);
});

test("a non-zero exit fails the job permanently, naming the command and code, with stderr in the log", async () => {
  const { run, row } = await runJob({ command: "exit3" });
  assert.equal(run.code, 1, "run --job exits 1 when that job failed");
  assert.equal(row.status, "failed");
  assert.equal(row.error, 'command "exit3" exited with code 3');
  assert.match(row.log, /going wrong/);
});

test("an exit code listed as transient is retried", async () => {
  const ref = await t.insertJob("command", { command: "flaky" }, { max_attempts: 3 });
  await runCli(["--job", String(ref)], { config });
  const [row] = await t.query<Record<string, any>>("SELECT status, attempts, error FROM job_queue WHERE ref = ?", [ref]);
  assert.equal(row!.status, "pending", "back to pending for a retry");
  assert.equal(row!.attempts, 1);
  assert.equal(row!.error, 'command "flaky" exited with code 75');
});

test("a timeout kills the whole process tree, grandchildren included", async () => {
  const pidfile = path.join(dir, "run", "grandchild.pid");
  const { row } = await runJob({ command: "hang", args: { pidfile } });
  assert.equal(row.status, "failed");
  assert.equal(row.error, 'command "hang" timed out after 1 s and was killed');
  const pid = Number(fs.readFileSync(pidfile, "utf8"));
  await waitFor(() => !isAlive(pid), `grandchild ${pid} to be gone`, 10_000);
});

test("arguments a template declares as paths must lie under the read roots, symlinks resolved", async () => {
  const inside = await runJob({ command: "cat", args: { file: path.join(dir, "files", "inside.txt") } });
  assert.equal(inside.row.status, "complete", inside.row.error);
  assert.match(inside.row.log, /inside the roots/);
  const outside = await runJob({ command: "cat", args: { file: "/etc/passwd" } });
  assert.equal(outside.row.status, "failed");
  assert.equal(outside.row.error, 'the source "/etc/passwd" is outside the allowed roots');
  const escape = await runJob({ command: "cat", args: { file: path.join(dir, "files", "escape.txt") } });
  assert.equal(escape.row.status, "failed", "a symlink inside the roots pointing out of them is refused");
  assert.match(escape.row.error, /is outside the allowed roots$/);
  const traversal = await runJob({ command: "cat", args: { file: path.join(dir, "files", "..", "..", "etc", "passwd") } });
  assert.equal(traversal.row.status, "failed");
});

test("a text placeholder declared with a pattern takes only values that match it whole, and no longer than its maxLength", async () => {
  const fine = await runJob({ command: "greet", args: { greeting: "hello", name: "ann" } });
  assert.equal(fine.row.status, "complete", fine.row.error);
  assert.match(fine.row.log, /hello ann/);
  const partly = await runJob({ command: "greet", args: { greeting: "hello; rm -rf /", name: "ann" } });
  assert.equal(partly.row.status, "failed", "a value that only begins with a match is refused");
  assert.equal(partly.row.error, 'argument "greeting" must match "hello|goodbye", which "hello; rm -rf /" does not');
  const slashed = await runJob({ command: "greet", args: { greeting: "hello", name: "/etc" } });
  assert.equal(slashed.row.status, "failed");
  assert.equal(slashed.row.error, 'argument "name" must match "[a-z]+", which "/etc" does not');
  const long = await runJob({ command: "greet", args: { greeting: "goodbye", name: "abcdefghi" } });
  assert.equal(long.row.status, "failed");
  assert.equal(long.row.error, 'argument "name" is 9 characters long, more than the 8 its template allows');
});

test("a template's own timeoutSeconds governs its jobs, not the type's default", async () => {
  const { row } = await runJob({ command: "slow" });
  assert.equal(row.status, "complete", `sleep 2 under a 20 s template limit must not hit the type's 1 s timeout: ${row.error}`);
});

test("a program that does not exist fails clearly", async () => {
  const { row } = await runJob({ command: "missing" });
  assert.equal(row.status, "failed");
  assert.equal(row.error, 'command "missing" could not start: /nonexistent/program was not found');
});

test("a template whose working folder is missing says so, not that its program was not found", async () => {
  const { row } = await runJob({ command: "elsewhere" });
  assert.equal(row.status, "failed");
  assert.equal(
    row.error,
    'command "elsewhere" could not start: its working folder /var/www/no-such-app (the template\'s cwd) does not exist or is not a folder',
  );
});

test("the database URL and other secrets are not passed to subprocesses", async () => {
  const { row } = await runJob({ command: "env" }, null, { MY_API_TOKEN: "tok-123", OFFLINE_JOBS_DATABASE_URL: t.url });
  assert.equal(row.status, "complete");
  assert.doesNotMatch(row.log, /OFFLINE_JOBS_DATABASE_URL|tok-123/);
  assert.match(row.log, /PATH=/, "ordinary variables are passed");
});
