import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * docs/operations.md, "Looking at jobs": `list` (filters, queue positions, --since, --json), `show` (--json, the notice, the
 * result and the log) and `types` (hidden types, JSON Schema, limits), in real processes
 * against a real database. `export --csv` is in inspect-export.test.ts, `show --follow` in
 * inspect-follow.test.ts.
 */

let config: string;
const env = useTestEnvironment("oj-inspect-", (e) => {
  config = hostConfig(e, "inspector", {
    types: { noop: { hidden: true }, record: { concurrency: 2, maxAttempts: 5, onLost: "fail" } },
  });
});

/** Every column of docs/architecture.md, "The job table", in the table's order: what `show --json` prints. */
const COLUMNS = [
  "ref",
  "type",
  "job_data",
  "job_code",
  "user",
  "priority",
  "status",
  "run_after",
  "attempts",
  "max_attempts",
  "created_at",
  "started_at",
  "finished_at",
  "locked_by",
  "lock_token",
  "lease_until",
  "progress",
  "success_text",
  "failure_text",
  "result",
  "error",
  "log",
];

interface Listed {
  ref: number;
  status: string;
  position: number | null;
  result: unknown;
  [column: string]: unknown;
}

async function listJson(...args: string[]): Promise<Listed[]> {
  const run = await runCli(["list", "--json", ...args], { config });
  assert.equal(run.code, 0, `list ${args.join(" ")} exited ${run.code}: ${tail(run.stderr)}`);
  return JSON.parse(run.stdout) as Listed[];
}

const refsOf = (jobs: Listed[]) => jobs.map((j) => j.ref);

test("list shows a due pending job's queue position in claim order (priority, then ref), whatever the filter", async () => {
  await env.db.query("DELETE FROM job_queue");
  const insert = env.db.insertJob;
  const lowFirst = await insert("record", {}, { priority: 2, user: "queue" });
  const urgent = await insert("record", {}, { priority: 0, user: "queue" });
  const userFacing = await insert("noop", {}, { priority: 1, user: "queue" });
  const lowSecond = await insert("record", {}, { priority: 2, user: "queue" });
  const delayed = await insert("record", {}, { priority: 0, user: "queue", run_after: new Date(Date.now() + 3 * 3600_000) });
  const running = await insert("record", {}, { status: "running", priority: 0, user: "queue" });
  const done = await insert("record", {}, { status: "complete", priority: 0, user: "queue" });

  const jobs = await listJson("--user", "queue");
  assert.deepEqual(refsOf(jobs), [done, running, delayed, lowSecond, userFacing, urgent, lowFirst], "newest first");
  const position = Object.fromEntries(jobs.map((j) => [j.ref, j.position]));
  assert.deepEqual(
    [position[urgent], position[userFacing], position[lowFirst], position[lowSecond]],
    [0, 1, 2, 3],
    "priority 0 is claimed first, then 1, then the two priority-2 jobs by ref",
  );
  assert.equal(position[delayed], null, "a job that is not due yet has no position, even at priority 0");
  assert.equal(position[running], null, "a running job has no queue position");
  assert.equal(position[done], null, "a complete job has no queue position");

  // Filtering by type must not renumber the queue: the noop job ahead still counts.
  const records = await listJson("--type", "record", "--status", "pending");
  assert.equal(records.find((j) => j.ref === lowSecond)?.position, 3, "position counts due jobs of every type");

  const table = await runCli(["list", "--user", "queue"], { config });
  assert.equal(table.code, 0, table.stderr);
  const line = (ref: number) => table.stdout.split("\n").find((l) => l.startsWith(`${ref} `)) ?? "";
  assert.match(line(urgent), /\bnext\b/, `the table marks the next job:\n${table.stdout}`);
  assert.match(line(lowSecond), /\b3 ahead\b/, `the table shows how many are ahead:\n${table.stdout}`);
  assert.match(line(delayed), /due in 2h 59m|due in 3h/, `a delayed job shows when it becomes due:\n${table.stdout}`);
});

test("list filters by status, type, user and --since, and --limit keeps the newest", async () => {
  await env.db.query("DELETE FROM job_queue");
  const insert = env.db.insertJob;
  const old = await insert("record", {}, { status: "failed", user: "ann", created_at: new Date(Date.now() - 3 * 86_400_000) });
  const failed = await insert("record", {}, { status: "failed", user: "ann" });
  const cancelled = await insert("noop", {}, { status: "cancelled", user: "bob" });
  const pending = await insert("noop", {}, { user: "ann" });
  const running = await insert("command", {}, { status: "running", user: "bob" });

  assert.deepEqual(refsOf(await listJson("--status", "failed")), [failed, old]);
  assert.deepEqual(refsOf(await listJson("--status", "active")), [running, pending], "active is pending and running");
  assert.deepEqual(refsOf(await listJson("--status", "all")), [running, pending, cancelled, failed, old]);
  assert.deepEqual(refsOf(await listJson("--type", "noop", "--type", "command")), [running, pending, cancelled], "--type is repeatable");
  assert.deepEqual(refsOf(await listJson("--user", "ann", "--status", "failed")), [failed, old]);
  assert.deepEqual(refsOf(await listJson("--since", "2d")), [running, pending, cancelled, failed], "--since 2d leaves out the job made 3 days ago");
  assert.deepEqual(refsOf(await listJson("--since", "4d ago", "--user", "ann")), [pending, failed, old]);
  const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
  assert.deepEqual(refsOf(await listJson("--since", twoDaysAgo, "--status", "failed")), [failed], "--since takes an ISO date-time");
  assert.deepEqual(refsOf(await listJson("--limit", "2")), [running, pending], "--limit keeps the newest");

  const bad = await runCli(["list", "--since", "last tuesday"], { config });
  assert.equal(bad.code, 2, "an unreadable --since is a usage error");
  assert.match(bad.stderr, /--since: "last tuesday"/);
  assert.equal((await runCli(["list", "--status", "done"], { config })).code, 2, "an unknown status is a usage error");
});

test("list --json prints an array of rows without job_data and log, with the result parsed and a position", async () => {
  await env.db.query("DELETE FROM job_queue");
  const ref = await env.db.insertJob("record", { file: "x" }, { status: "complete", result: JSON.stringify({ notice: "done", n: 1 }), log: "secret-ish log" });
  const [job] = await listJson();
  assert.ok(job, "one job listed");
  assert.deepEqual(Object.keys(job), [...COLUMNS.filter((c) => c !== "job_data" && c !== "log"), "position"], "the stable key set, in order");
  assert.equal(job.ref, ref);
  assert.deepEqual(job.result, { notice: "done", n: 1 }, "result is parsed JSON");
  assert.equal(job.position, null);
});

test("show --json prints every column of the row as one object, the result parsed", async () => {
  const ref = await env.db.insertJob(
    "record",
    { file: "a" },
    {
      status: "complete",
      user: "carol",
      result: JSON.stringify({ notice: "Your zip is ready: https://example.org/d/x.zip", url: "https://example.org/d/x.zip" }),
      log: "line one\nline two\n",
      finished_at: new Date(),
    },
  );
  const run = await runCli(["show", String(ref), "--json"], { config });
  assert.equal(run.code, 0, run.stderr);
  const row = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(row), COLUMNS, "show --json has the columns of the job table");
  assert.equal(row.ref, ref);
  assert.equal(row.job_data, JSON.stringify({ file: "a" }), "job_data stays the text the application wrote");
  assert.deepEqual(row.result, { notice: "Your zip is ready: https://example.org/d/x.zip", url: "https://example.org/d/x.zip" });
  assert.equal(row.log, "line one\nline two\n");
});

test("show prints the columns, the rendered notice, the result pretty-printed and the log", async () => {
  const ref = await env.db.insertJob(
    "record",
    { file: "b" },
    {
      status: "failed",
      user: "dave",
      error: "the source file is missing",
      result: JSON.stringify({ notice: "Sorry dave, job failed: the source file is missing", partial: [1, 2] }),
      log: "[info] looking for the source\n[error] not there",
    },
  );
  const run = await runCli(["show", String(ref)], { config });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`^ref +${ref}$`, "m"));
  assert.match(run.stdout, /^status +failed$/m);
  assert.match(run.stdout, /^error +the source file is missing$/m);
  assert.match(run.stdout, /^notice +Sorry dave, job failed: the source file is missing$/m, `the notice is shown:\n${run.stdout}`);
  assert.match(run.stdout, /--- result ---\n\{\n {2}"notice": .*,\n {2}"partial": \[\n {4}1,/, `the result is pretty-printed:\n${run.stdout}`);
  assert.match(run.stdout, /--- log ---\n\[info\] looking for the source\n\[error\] not there\n$/, "the log comes last");
  assert.doesNotMatch(run.stdout, /lock_token/, "the claim token is not shown");

  const pending = await env.db.insertJob("record", {}, { priority: 0 });
  const queued = await runCli(["show", String(pending)], { config });
  assert.match(queued.stdout, /^queue +(next to be claimed|\d+ due job\(s\) ahead)$/m, `a pending job shows its place:\n${queued.stdout}`);

  const missing = await runCli(["show", "999999"], { config });
  assert.equal(missing.code, 1, "a job that does not exist exits 1");
  assert.match(missing.stderr, /job 999999 does not exist/);
  assert.equal((await runCli(["show", String(ref), "--json", "--follow"], { config })).code, 2, "--json with --follow is a usage error");
});

test("types lists each handler with its description, job_data fields and limits, leaving out hidden types", async () => {
  const run = await runCli(["types"], { config });
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stdout, /^noop$/m, "noop is hidden by the config");
  assert.match(run.stdout, /^record\n {2}test handler: records each run\n/m, "a handler from the config's modules, with its description");
  assert.match(run.stdout, /^ {4}file +string$/m, "a required field");
  assert.match(run.stdout, /^ {4}sleepMs\? +integer ≥ 0$/m, "an optional field with its bound");
  assert.match(run.stdout, /^record\n.*\n {2}limits: .*5 attempts · at most 2 running · .*a lost job fails/m, `the config's limits:\n${run.stdout}`);
  assert.match(run.stdout, /^create_previews$/m, "built-in types are listed");

  const json = await runCli(["types", "--json"], { config });
  assert.equal(json.code, 0, json.stderr);
  const types = JSON.parse(json.stdout) as Array<{ name: string; description: string; schema: Record<string, any>; limits: Record<string, unknown> }>;
  assert.ok(!types.some((t) => t.name === "noop"), "hidden types are left out of --json too");
  const record = types.find((t) => t.name === "record");
  assert.ok(record, "record is listed");
  assert.equal(record.schema.$schema, "https://json-schema.org/draft/2020-12/schema", "the schema is a JSON Schema");
  assert.deepEqual(record.schema.required, ["file"]);
  assert.deepEqual(record.schema.properties.sleepMs, { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
  assert.deepEqual(record.limits, { timeoutSeconds: 3600, maxAttempts: 5, concurrency: 2, onLost: "fail", backoff: { initialSeconds: 10, maxSeconds: 3600 } });
  const builtIn = types.find((t) => t.name === "collection_download");
  assert.equal(builtIn?.schema.properties.compression.default, "auto", "a built-in type's schema with its defaults");

  const named = await runCli(["types", "noop", "--json"], { config });
  assert.equal(named.code, 0, named.stderr);
  assert.deepEqual(
    (JSON.parse(named.stdout) as Array<{ name: string }>).map((t) => t.name),
    ["noop"],
    "a hidden type named explicitly is shown",
  );
  assert.equal((await runCli(["types", "no_such_type"], { config })).code, 1, "an unknown type exits 1");
});
