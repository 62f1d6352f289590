import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { BIN, collect, ROOT, writeConfig } from "../helpers/cli.js";
import { useTestEnvironment } from "../helpers/environment.js";
import { makePdf, makeWav } from "../helpers/media.js";

/**
 * Secrets in the runner's environment reach no subprocess (SECURITY.md, "Subprocesses"):
 * command templates, ffprobe, ffmpeg and pdftotext each get PATH, HOME, LANG, LC_ALL, TZ,
 * TMPDIR and the variables their template lists, nothing else. The real ffprobe, ffmpeg and
 * pdftotext are replaced on the PATH by scripts that write their environment down first.
 */
const SECRETS = { MYSQL_PWD: "mysql-pwd-value", DB_PASS: "db-pass-value", API_KEY: "api-key-value" };

let config: string;
let withLib: string;
let files: string;
let dumps: string;
let bin: string;

const env = useTestEnvironment("oj-child-env-", () => {
  files = path.join(env.dir, "files");
  dumps = path.join(env.dir, "dumps");
  bin = path.join(env.dir, "bin");
  for (const d of [files, dumps, bin, path.join(env.dir, "out")]) fs.mkdirSync(d);
  for (const tool of ["ffprobe", "ffmpeg", "pdftotext"]) {
    const real = ["/usr/bin", "/usr/local/bin"].map((d) => path.join(d, tool)).find((p) => fs.existsSync(p));
    assert.ok(real, `${tool} is installed`);
    fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\nenv > "${dumps}/${tool}-$$.env"\nexec ${real} "$@"\n`, { mode: 0o755 });
  }
  makeWav(path.join(files, "tone.wav"), 1);
  makePdf(path.join(files, "letter.pdf"));
  const base = {
    lockDir: path.join(env.dir, "locks"),
    paths: { readRoots: [files], writeRoots: [dumps, path.join(env.dir, "out")] },
    previews: { outputDir: path.join(env.dir, "out"), audio: { waveform: false } },
    types: { command: { maxAttempts: 1 }, create_previews: { maxAttempts: 1 }, extract_text: { maxAttempts: 1 } },
  };
  const dump = { argv: ["/bin/sh", "-c", 'env > "$1"', "sh", "{to}"], pathArgs: { to: "write" } };
  config = writeConfig(env.dir, { ...base, commands: { dump } });
  withLib = writeConfig(env.dir, { ...base, commands: { dump: { ...dump, env: ["GS_LIB"] } } }, "with-lib.json");
});

/** Runs one job with the secrets, the database URL and GS_LIB in the runner's own environment. */
async function runJob(type: string, data: Record<string, unknown>, configFile = config) {
  const ref = await env.db.insertJob(type, data);
  const childEnv = {
    ...process.env,
    ...SECRETS,
    GS_LIB: "/opt/gs/lib",
    OFFLINE_JOBS_DATABASE_URL: env.db.url,
    OFFLINE_JOBS_CONFIG: configFile,
    PATH: `${bin}:${process.env.PATH}`,
  };
  const child = spawn(process.execPath, [BIN, "--job", String(ref)], { env: childEnv, cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const run = await collect(child, 60_000);
  const [row] = await env.db.query<Record<string, any>>("SELECT status, error FROM job_queue WHERE ref = ?", [ref]);
  assert.ok(row, `the runner read the job through OFFLINE_JOBS_DATABASE_URL: ${run.stderr}`);
  assert.equal(row.status, "complete", `${type}: ${row.error}`);
}

function assertClean(file: string): string {
  const text = fs.readFileSync(file, "utf8");
  for (const [name, value] of Object.entries(SECRETS)) {
    assert.ok(!text.includes(name) && !text.includes(value), `${path.basename(file)} got ${name}`);
  }
  assert.ok(!text.includes("OFFLINE_JOBS_DATABASE_URL") && !text.includes(env.db.url), `${path.basename(file)} got the database URL`);
  assert.match(text, /^PATH=/m, "PATH is passed");
  return text;
}

test("a command template's program gets none of MYSQL_PWD, DB_PASS, API_KEY or the database URL; GS_LIB only when the template lists it", async () => {
  await runJob("command", { command: "dump", args: { to: path.join(dumps, "plain.env") } });
  assert.doesNotMatch(assertClean(path.join(dumps, "plain.env")), /GS_LIB/);
  await runJob("command", { command: "dump", args: { to: path.join(dumps, "with-lib.env") } }, withLib);
  assert.match(assertClean(path.join(dumps, "with-lib.env")), /^GS_LIB=\/opt\/gs\/lib$/m);
});

test("ffprobe, ffmpeg and pdftotext get none of the secrets either", async () => {
  await runJob("create_previews", { source: path.join(files, "tone.wav") });
  await runJob("extract_text", { source: path.join(files, "letter.pdf") });
  const seen = fs.readdirSync(dumps).filter((n) => /^(ffprobe|ffmpeg|pdftotext)-/.test(n));
  for (const tool of ["ffprobe", "ffmpeg", "pdftotext"])
    assert.ok(
      seen.some((n) => n.startsWith(`${tool}-`)),
      `${tool} ran`,
    );
  for (const name of seen) assert.doesNotMatch(assertClean(path.join(dumps, name)), /GS_LIB/);
});
