import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { runCli, writeConfig } from "../helpers/cli.js";
import { useTestEnvironment } from "../helpers/environment.js";

/**
 * `add` refuses what this config cannot run, instead of queueing a job that would wait for
 * ever: an unknown type or an unknown command template is a usage error (exit 2) that lists
 * what is known, unless --force (a type or template that only another host's config has).
 */

const env = useTestEnvironment("oj-add-checks-");

function config(): string {
  return writeConfig(env.dir, {
    database: { url: env.db.url },
    lockDir: path.join(env.dir, "locks"),
    commands: {
      hello: { argv: ["echo", "{name}"], args: { name: { pattern: "[a-z]+" } } },
      convert: { argv: ["cp", "{source}", "{output}"], usableBy: ["create_alternative_file"] },
    },
  });
}

async function jobCount(): Promise<number> {
  const [row] = await env.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue");
  return Number(row!.n);
}

test("add of a type no handler here knows exits 2 with a suggestion and the known types, and adds nothing", async () => {
  const add = await runCli(["add", "nop"], { config: config() });
  assert.equal(add.code, 2, `exit 2 for an unknown type; stderr:\n${add.stderr}`);
  assert.match(add.stderr, /unknown job type "nop" \(did you mean noop\?\): this config handles .*\bnoop\b.*; add --force/);
  assert.equal(await jobCount(), 0, "nothing was added");
});

test("add command naming a template the config does not define exits 2 with the templates it does", async () => {
  const add = await runCli(["add", "command", "--data", '{"command":"nonexistent"}'], { config: config() });
  assert.equal(add.code, 2, `exit 2 for an unknown template; stderr:\n${add.stderr}`);
  assert.match(add.stderr, /unknown command template "nonexistent": this config defines hello, convert; add --force/);
  assert.equal(await jobCount(), 0, "nothing was added");
});

test("add command naming a template meant for another type exits 2 and says which types may run it", async () => {
  const add = await runCli(["add", "command", "--data", '{"command":"convert"}'], { config: config() });
  assert.equal(add.code, 2, `exit 2 for a template not open to command jobs; stderr:\n${add.stderr}`);
  assert.match(add.stderr, /command template "convert" is not for command jobs: only create_alternative_file may run it/);
  assert.equal(await jobCount(), 0, "nothing was added");
});

test("with --force the job is added, and list marks it as having no handler here", async () => {
  const add = await runCli(["add", "nop", "--force"], { config: config() });
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stderr, /added anyway \(--force\)/);
  const list = await runCli(["list"], { config: config() });
  assert.match(list.stdout, /nop\s+pending\s+no handler here/, list.stdout);
});

test("add --batch names the file and line of a bad job", async () => {
  const batch = path.join(env.dir, "jobs.jsonl");
  fs.writeFileSync(batch, ['{"type":"noop"}', '{"type":"noop","data":{"sleepMs":"soon"}}'].join("\n"));
  const bad = await runCli(["add", "--batch", batch], { config: config() });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, new RegExp(`${batch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:2: job_data for noop is invalid: sleepMs: `));
  fs.writeFileSync(batch, ['{"type":"noop"}', "", '{"type":"nop"}'].join("\n"));
  const unknown = await runCli(["add", "--batch", batch], { config: config() });
  assert.match(unknown.stderr, /jobs\.jsonl:3: unknown job type "nop"/);
});
