import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, test } from "node:test";
import { makeTempDir, runCli, writeConfig } from "../helpers/cli.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";

let t: TestDatabase;
let config: string;
let dir: string;
before(async () => {
  t = await createTestDatabase();
  dir = makeTempDir();
  config = writeConfig(dir, {
    database: { url: t.url },
    lockDir: `${dir}/locks`,
    commands: { hello: { argv: ["echo", "hello", "{name}"], args: { name: { pattern: "[a-z]+" } } } },
  });
});
after(async () => {
  await t.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("bad job_data fails its job at once with a clear error, an unknown type stays pending, and the run exits 0", async () => {
  const rows: Array<[string, string | null, RegExp | null]> = [
    ["noop", "not json", /^job_data is not valid JSON \(/],
    ["noop", '{"sleepMs": "soon"}', /^job_data is invalid for noop: sleepMs: .*expected number/],
    ["noop", '{"sleepMs": 1e308}', /^job_data is invalid for noop: sleepMs: /],
    ["noop", '{"unexpected": true}', /^job_data is invalid for noop: .*unexpected/],
    ["noop", "[1, 2]", /^job_data is invalid for noop: job_data: .*expected object/],
    ["command", '{"command": "format-disk"}', /^unknown command template "format-disk": the config defines "hello"$/],
    ["command", '{"command": "hello"}', /^command template "hello" needs the argument "name", which job_data.args does not give$/],
    ["command", '{"argv": ["rm", "-rf", "/"]}', /^job_data gives argv, but this config does not allow arbitrary commands/],
    ["noop", null, null],
    ["noop", '{"fail": "permanent"}', /^noop was asked to fail permanently$/],
  ];
  for (const [type, data] of rows) await t.query("INSERT INTO job_queue (type, job_data) VALUES (?, ?)", [type, data]);
  await t.query("INSERT INTO job_queue (type, job_data) VALUES ('no_such_type', '{}')");

  const run = await runCli(["--max-jobs", "2"], { config });
  assert.equal(run.code, 0, `the run exits 0 despite bad jobs; stderr:\n${run.stderr}`);

  const stored = await t.query<{ ref: number; type: string; status: string; attempts: number; error: string | null }>(
    "SELECT ref, type, status, attempts, error FROM job_queue ORDER BY ref",
  );
  rows.forEach(([type, data, expected], i) => {
    const row = stored[i]!;
    const what = `${type} with job_data ${data}`;
    if (expected === null) {
      assert.equal(row.status, "complete", `${what} should complete (NULL job_data is {})`);
      return;
    }
    assert.equal(row.status, "failed", `${what} should have failed, is ${row.status}`);
    assert.equal(row.attempts, 1, `${what} is a permanent failure: one attempt only`);
    assert.match(row.error ?? "", expected, `${what}: unexpected error text`);
  });
  const unknown = stored[stored.length - 1]!;
  assert.equal(unknown.status, "pending", "a type no handler here knows stays pending for a worker that has one");
  assert.equal(unknown.attempts, 0);
});
