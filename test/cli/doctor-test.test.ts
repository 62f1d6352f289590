import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { collect, runCli, startCli, waitFor, writeConfig } from "../helpers/cli.js";
import { tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * `doctor` (a line per check, exit 1 when something needed is missing, never a crash) and
 * `test` (PKP's jobs.php test: one job bound to succeed, one bound to fail), against a real
 * database and real folders.
 */

const env = useTestEnvironment("oj-doctor-", (e) => {
  for (const folder of ["files", "downloads"]) fs.mkdirSync(path.join(e.dir, folder));
});

/** A config whose every check should pass; `overrides` replace top-level keys. */
function goodConfig(name: string, overrides: Record<string, unknown> = {}): string {
  const file = writeConfig(
    env.dir,
    {
      database: { url: env.db.url },
      hostName: "doctor-host",
      lockDir: path.join(env.dir, `locks-${name}`),
      paths: { readRoots: ["files"], writeRoots: ["files", "downloads"] },
      downloads: { dir: "downloads", baseUrl: "https://example.org/downloads/" },
      ...overrides,
    },
    `${name}.json`,
  );
  fs.chmodSync(file, 0o640);
  return file;
}

interface Check {
  name: string;
  status: "ok" | "warn" | "fail" | "skip";
  detail: string;
}

async function doctorJson(
  config: string,
  envVars: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; ok: boolean; checks: Map<string, Check>; stderr: string }> {
  const run = await runCli(["doctor", "--json"], { config, env: envVars });
  assert.ok(run.stdout.trim().startsWith("{"), `doctor --json prints one JSON object even when checks fail; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  const report = JSON.parse(run.stdout) as { ok: boolean; checks: Check[] };
  return { code: run.code, ok: report.ok, checks: new Map(report.checks.map((c) => [c.name, c])), stderr: run.stderr };
}

const ESSENTIAL = [
  "config",
  "config-access",
  "config-placement",
  "database",
  "skip-locked",
  "schema",
  "handlers",
  "lock-dir",
  "read-roots",
  "write-roots",
  "downloads-dir",
];

test("doctor passes a good config: every essential check ok, one line each, exit 0", async () => {
  const config = goodConfig("good");
  const run = await runCli(["doctor"], { config });
  assert.equal(run.code, 0, `doctor should pass; stdout:\n${run.stdout}\nstderr:\n${tail(run.stderr)}`);
  const lines = run.stdout.trim().split("\n");
  for (const name of ESSENTIAL) {
    const line = lines.find((l) => l.split(/\s+/)[1] === name);
    assert.ok(line, `a line for ${name}:\n${run.stdout}`);
    assert.match(line, /^ok\s/, `${name} should be ok: ${line}`);
  }
  assert.ok(!lines.some((l) => l.startsWith("FAIL")), `no FAIL line:\n${run.stdout}`);
  for (const tool of ["ffmpeg", "ffprobe", "pdftotext"]) {
    assert.match(run.stdout, new RegExp(`^(ok|warn)\\s+${tool}\\s+(.*version|not found)`, "m"), `${tool}: found with a version, or a warning`);
  }
  assert.match(run.stdout, /skip-locked\s+MariaDB \d+\.\d+\.\d+ supports/);
  assert.match(run.stdout, /schema\s+table job_queue at schema version \d+, current/);
  const json = await doctorJson(config);
  assert.equal(json.code, 0);
  assert.equal(json.ok, true);
});

test("doctor reports an unreachable database as FAIL, still runs the other checks, exits 1 and never shows the password", async () => {
  const config = goodConfig("unreachable", { database: { url: "mysql://app:s3cret-pw@127.0.0.1:1/app" } });
  fs.chmodSync(config, 0o644);
  const { code, ok, checks, stderr } = await doctorJson(config);
  assert.equal(code, 1, `exit 1; stderr:\n${stderr}`);
  assert.equal(ok, false);
  assert.equal(checks.get("database")?.status, "fail");
  assert.match(checks.get("database")!.detail, /unreachable/);
  assert.equal(checks.get("skip-locked")?.status, "skip");
  assert.equal(checks.get("schema")?.status, "skip");
  for (const name of ["lock-dir", "read-roots", "write-roots", "downloads-dir", "handlers"]) {
    assert.equal(checks.get(name)?.status, "ok", `${name} is still checked: ${JSON.stringify(checks.get(name))}`);
  }
  assert.equal(checks.get("config-access")?.status, "warn", "a config with a password that every user can read is a warning");
  const human = await runCli(["doctor"], { config });
  assert.equal(human.code, 1);
  assert.match(human.stdout, /^FAIL\s+database\s/m);
  assert.match(human.stderr, /^offline-jobs: doctor: 1 check\(s\) failed/m);
  assert.doesNotMatch(human.stdout + human.stderr + JSON.stringify([...checks.values()]), /s3cret-pw/);
});

test("doctor FAILs a lock folder that cannot be written and exits 1", async () => {
  const notAFolder = path.join(env.dir, "plain-file");
  fs.writeFileSync(notAFolder, "");
  // Under a regular file nothing can be created, not even by root (these tests may run as root).
  const { code, checks } = await doctorJson(goodConfig("bad-lock", { lockDir: path.join(notAFolder, "locks") }));
  assert.equal(code, 1);
  assert.equal(checks.get("lock-dir")?.status, "fail");
  assert.match(checks.get("lock-dir")!.detail, /is not a folder/);
  assert.equal(checks.get("database")?.status, "ok", "the database check is unaffected");
});

test("doctor FAILs a config file inside a read root and a lockDir inside a write root, where jobs could read or rewrite them", async () => {
  const root = path.join(env.dir, "files");
  // The config inside the read root (a collection_download could zip it, password and all).
  const inside = writeConfig(
    root,
    { database: { url: env.db.url }, lockDir: path.join(env.dir, "locks-placed"), paths: { readRoots: ["."], writeRoots: ["../downloads"] } },
    "placed.json",
  );
  const placed = await doctorJson(inside);
  assert.equal(placed.code, 1, `exit 1; stderr:\n${placed.stderr}`);
  assert.equal(placed.checks.get("config-placement")?.status, "fail");
  assert.match(
    placed.checks.get("config-placement")!.detail,
    /^the config file \S+placed\.json is inside paths\.readRoots \S+ where jobs can read or write it; move it out of the roots$/,
  );
  assert.doesNotMatch(placed.stderr, /"level":"warn"/, "doctor reports it as a check, not also as a warning line");
  // A lock folder not made yet, inside a write root (delete_file could remove the locks).
  const locks = await doctorJson(goodConfig("locks-inside", { lockDir: path.join(env.dir, "downloads", "locks") }));
  assert.equal(locks.code, 1);
  assert.equal(locks.checks.get("config-placement")?.status, "fail");
  assert.match(locks.checks.get("config-placement")!.detail, /^lockDir \S+downloads\/locks is inside paths\.writeRoots/);
});

test("doctor FAILs a config file its group or other users can write: such a config is refused", async () => {
  const config = goodConfig("group-writable");
  fs.chmodSync(config, 0o660);
  const { code, checks } = await doctorJson(config);
  assert.equal(code, 1);
  assert.equal(checks.get("config")?.status, "fail");
  assert.equal(
    checks.get("config")!.detail,
    `config ${config} is writable by its group (mode 660), who could make the runner start any program; refusing it: chmod go-w ${config}`,
  );
});

test("doctor FAILs missing roots, ffmpeg when ffmpegPresets need it, and a command template's missing program", async () => {
  const config = goodConfig("missing", {
    paths: { readRoots: ["no-such-folder"], writeRoots: ["files"] },
    ffmpegPresets: { webm: { args: ["-c:v", "libvpx-vp9"], format: "webm" } },
    commands: { hello: { argv: ["no-such-program-oj", "{name}"], args: { name: { pattern: "[a-z]+" } } } },
  });
  const { code, checks } = await doctorJson(config, { FFMPEG_PATH: path.join(env.dir, "no-ffmpeg-here") });
  assert.equal(code, 1);
  assert.equal(checks.get("read-roots")?.status, "fail");
  assert.match(checks.get("read-roots")!.detail, /no-such-folder does not exist/);
  assert.equal(checks.get("ffmpeg")?.status, "fail", `ffmpeg: ${JSON.stringify(checks.get("ffmpeg"))}`);
  assert.match(checks.get("ffmpeg")!.detail, /ffmpegPresets are configured/);
  assert.equal(checks.get("commands")?.status, "fail");
  assert.match(checks.get("commands")!.detail, /hello \(no-such-program-oj\)/);
});

test("doctor only warns about ffmpeg without presets, and says nothing when the types that use it are hidden", async () => {
  const noFfmpeg = { FFMPEG_PATH: path.join(env.dir, "no-ffmpeg-here") };
  const plain = await doctorJson(goodConfig("plain"), noFfmpeg);
  assert.equal(plain.checks.get("ffmpeg")?.status, "warn");
  assert.equal(plain.code, 0, "a warning alone does not fail doctor");
  const strict = await runCli(["doctor", "--strict"], { config: goodConfig("plain"), env: noFfmpeg });
  assert.equal(strict.code, 1, "--strict fails on warnings");
  const hidden = await doctorJson(goodConfig("hidden", { types: { create_previews: { hidden: true }, create_alternative_file: { hidden: true } } }), noFfmpeg);
  assert.equal(hidden.checks.get("ffmpeg")?.status, "ok", JSON.stringify(hidden.checks.get("ffmpeg")));
  assert.match(hidden.checks.get("ffmpeg")!.detail, /not needed/);
});

test("test --run runs one job bound to succeed and one bound to fail in this process and reports both", async () => {
  const config = goodConfig("test-run");
  const run = await runCli(["test", "--run"], { config });
  assert.equal(run.code, 0, `test --run should pass; stdout:\n${run.stdout}\nstderr:\n${tail(run.stderr)}`);
  const lines = run.stdout.trim().split("\n");
  assert.equal(lines.length, 2, `two report lines:\n${run.stdout}`);
  assert.match(lines[0]!, /^ok\s+job (\d+) \(noop, bound to succeed\): complete \(run by doctor-host:\d+\), as expected$/);
  assert.match(lines[1]!, /^ok\s+job (\d+) \(noop, bound to fail\): failed: noop was asked to fail permanently .*as expected$/);
  const refs = lines.map((l) => Number(/job (\d+)/.exec(l)![1]));
  const rows = await env.db.query<{ status: string; user: string; job_data: string }>(
    "SELECT status, user, job_data FROM job_queue WHERE ref IN (?) ORDER BY ref",
    [refs],
  );
  assert.deepEqual(
    rows.map((r) => [r.status, r.user, JSON.parse(r.job_data)]),
    [
      ["complete", `cli:${os.userInfo().username}`, {}],
      ["failed", `cli:${os.userInfo().username}`, { fail: "permanent" }],
    ],
  );
});

test("test waits for a separately started run, and exits 124 when no worker comes", async () => {
  const config = goodConfig("test-wait");
  const [last] = await env.db.query<{ ref: number | null }>("SELECT MAX(ref) AS ref FROM job_queue");
  const waiting = startCli(["test", "--timeout", "60"], { config });
  const result = collect(waiting, 90_000);
  await waitFor(async () => {
    const rows = await env.db.query("SELECT ref FROM job_queue WHERE ref > ?", [Number(last?.ref ?? 0)]);
    return rows.length === 2;
  }, "the two test jobs to be queued");
  const run = await runCli(["--quiet"], { config });
  assert.equal(run.code, 0, tail(run.stderr));
  const report = await result;
  assert.equal(report.code, 0, `test should pass with a worker; stdout:\n${report.stdout}\nstderr:\n${tail(report.stderr)}`);
  assert.equal(
    report.stdout
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("ok")).length,
    2,
    report.stdout,
  );

  const lonely = await runCli(["test", "--timeout", "0.5"], { config });
  assert.equal(lonely.code, 124, `no worker: exit 124; stdout:\n${lonely.stdout}\nstderr:\n${tail(lonely.stderr)}`);
  assert.match(lonely.stderr, /no worker ran job\(s\) \d+, \d+ within 0.5 s/);
  assert.equal(
    lonely.stdout
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("wait")).length,
    2,
    lonely.stdout,
  );
});

test("doctor fails a command template whose working folder is missing, and a metrics textfile whose folder is missing", async () => {
  const config = goodConfig("missing-folders", {
    commands: { hello: { argv: ["echo", "hi"], cwd: "/var/www/no-such-app" } },
    metrics: { textfile: path.join(env.dir, "no-such-folder", "offline_jobs.prom") },
  });
  const { code, checks } = await doctorJson(config);
  assert.equal(code, 1, "a missing folder that every job or run needs is a failure");
  assert.equal(checks.get("commands")?.status, "fail");
  assert.match(checks.get("commands")!.detail, /the working folder \/var\/www\/no-such-app of hello does not exist/);
  assert.equal(checks.get("metrics-textfile")?.status, "fail");
  assert.match(checks.get("metrics-textfile")!.detail, /no-such-folder does not exist/);
});
