import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { runCli, writeConfig } from "../helpers/cli.js";
import { useTestEnvironment } from "../helpers/environment.js";

let config: string;
let downloads: string;
let inbox: string;

const env = useTestEnvironment("oj-downloads-", () => {
  downloads = path.join(env.dir, "downloads");
  inbox = path.join(env.dir, "in");
  fs.mkdirSync(inbox);
  fs.writeFileSync(path.join(inbox, "report.csv"), "id,name\n1,Ann\n");
  config = writeConfig(env.dir, {
    database: { url: env.db.url },
    lockDir: path.join(env.dir, "locks"),
    paths: { readRoots: [inbox], writeRoots: [downloads] },
    downloads: { dir: downloads, baseUrl: "https://example.org/dl/", ttlHours: 72 },
    types: { create_download_file: { maxAttempts: 1 } },
    commands: {
      copy: { argv: ["cp", "{file}", "{output}"], args: { file: "read" }, usableBy: ["create_download_file"] },
      broken: { argv: ["sh", "-c", 'echo partial > "$0"; exit 2', "{output}"], usableBy: ["create_download_file"] },
    },
  });
});

async function runJob(type: string, data: unknown, successText: string | null = null) {
  const ref = await env.db.insertJob(type, data, { user: "ann", success_text: successText });
  const run = await runCli(["--job", String(ref)], { config });
  const [row] = await env.db.query<Record<string, any>>("SELECT * FROM job_queue WHERE ref = ?", [ref]);
  return { run, row: row!, result: row!.result ? JSON.parse(row!.result) : null };
}

test("create_download_file: the command's file lands in downloads.dir under an unguessable name, with its URL in the notice", async () => {
  const { row, result } = await runJob(
    "create_download_file",
    { command: "copy", args: { file: path.join(inbox, "report.csv") }, output: "report.csv" },
    "Your download is ready: {url} (job {ref} for {user})",
  );
  assert.equal(row.status, "complete", row.error);
  const name = path.basename(result.path);
  assert.match(name, /^[0-9a-f]{32}-report\.csv$/, "128 random bits, then the readable name");
  assert.equal(path.dirname(result.path), downloads);
  assert.equal(fs.readFileSync(result.path, "utf8"), "id,name\n1,Ann\n");
  assert.equal(result.url, `https://example.org/dl/${name}`);
  assert.equal(result.notice, `Your download is ready: ${result.url} (job ${row.ref} for ann)`);
  assert.deepEqual(
    fs.readdirSync(downloads).filter((f) => f.includes(".tmp")),
    [],
    "no temporary left",
  );
});

test("create_download_file: a hostile output name is reduced to a plain file name inside downloads.dir", async () => {
  const { row, result } = await runJob("create_download_file", {
    command: "copy",
    args: { file: path.join(inbox, "report.csv") },
    output: "../../etc/pass wd;$(id)",
  });
  assert.equal(row.status, "complete", row.error);
  assert.equal(path.dirname(result.path), downloads);
  assert.match(path.basename(result.path), /^[0-9a-f]{32}-pass_wd_id_$/);
});

test("create_download_file: a failing command fails the job and leaves no partial file", async () => {
  const before = fs.readdirSync(downloads).length;
  const { row } = await runJob("create_download_file", { command: "broken" });
  assert.equal(row.status, "failed");
  assert.equal(row.error, 'command "broken" exited with code 2');
  assert.equal(fs.readdirSync(downloads).length, before, "the partial output was removed");
});

test("downloads older than downloads.ttlHours are removed by the next run; other files are left alone", async () => {
  fs.mkdirSync(downloads, { recursive: true });
  const old = path.join(downloads, `${"a".repeat(32)}-old.zip`);
  const fresh = path.join(downloads, `${"b".repeat(32)}-fresh.zip`);
  const foreign = path.join(downloads, "keep-me.txt");
  for (const file of [old, fresh, foreign]) fs.writeFileSync(file, "x");
  const longAgo = new Date(Date.now() - 100 * 3600_000);
  fs.utimesSync(old, longAgo, longAgo);
  fs.utimesSync(foreign, longAgo, longAgo);
  const run = await runCli(["--quiet"], { config });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(fs.existsSync(old), false, "an expired download is removed");
  assert.equal(fs.existsSync(fresh), true, "a fresh download stays");
  assert.equal(fs.existsSync(foreign), true, "a file not named like a download stays");
});
