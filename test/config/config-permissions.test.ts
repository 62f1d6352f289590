import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { loadConfig } from "../../src/config/load-config.js";
import { makeTempDir, runCli, writeConfig } from "../helpers/cli.js";

/**
 * A config file holding the database password (or another secret) and readable by group or
 * others gets a warning, as ssh gives for a private key: once, naming the keys and the mode,
 * never the secret itself. (Issue 6, "Security review".)
 */

const dir = makeTempDir("oj-config-permissions-");
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const PASSWORD = "hunter2-not-for-logs";
const withPassword = { database: { url: `mysql://app:${PASSWORD}@127.0.0.1:3306/app` } };

function configFile(name: string, content: Record<string, unknown>, mode: number): string {
  const file = writeConfig(dir, content, name);
  fs.chmodSync(file, mode);
  return file;
}

function warningsFor(file: string): string[] {
  const warnings: string[] = [];
  loadConfig({ configPath: file, env: {}, warn: (message) => warnings.push(message) });
  return warnings;
}

test("a config with the database password that others can read is warned about once, without the password", () => {
  const file = configFile("open.json", withPassword, 0o644);
  const warnings = warningsFor(file);
  assert.equal(warnings.length, 1, "one warning");
  assert.equal(warnings[0], `config ${file} holds secrets (database.url's password) but is readable by other users (mode 644); make it private: chmod 600 ${file}`);
  assert.deepEqual(warningsFor(file), [], "a second load of the same file in one process does not warn again");
});

test("readable by the group only is warned about too; mode 600 is not", () => {
  const group = configFile("group.json", withPassword, 0o640);
  assert.match(warningsFor(group)[0] ?? "", /is readable by its group \(mode 640\)/);
  assert.deepEqual(warningsFor(configFile("private.json", withPassword, 0o600)), [], "an owner-only file is fine");
});

test("a config without secrets may be world-readable; other secrets (a webhook's Authorization header) count", () => {
  assert.deepEqual(warningsFor(configFile("no-secret.json", { database: { url: "mysql://app@127.0.0.1/app" } }, 0o644)), []);
  const hook = configFile("hook.json", { notify: { webhook: { url: "https://example.org/hook", headers: { Authorization: "Bearer abc" } } } }, 0o604);
  const [warning] = warningsFor(hook);
  assert.match(warning ?? "", /holds secrets \(notify\.webhook\.headers\.Authorization\)/);
  assert.doesNotMatch(warning ?? "", /Bearer abc/);
});

test("a real command prints the warning on stderr, and neither it nor the connection error shows the password", async () => {
  const file = configFile("cli.json", { ...withPassword, lockDir: path.join(dir, "locks") }, 0o644);
  const run = await runCli(["list"], { config: file });
  assert.equal(run.code, 1, `the database refuses app:${"*".repeat(4)}, so list exits 1; stderr:\n${run.stderr}`);
  const warnings = run.stderr.split("\n").filter((line) => line.includes("readable by other users"));
  assert.equal(warnings.length, 1, `one warning line on stderr:\n${run.stderr}`);
  assert.ok(!run.stderr.includes(PASSWORD) && !run.stdout.includes(PASSWORD), `the password appears in the output:\n${run.stderr}`);
});

test("a config that is not valid JSON is reported without V8's quote of the text (which may hold the password)", () => {
  const file = path.join(dir, "broken.json");
  fs.writeFileSync(file, `{\n  "database": { "url": "mysql://app:${PASSWORD}@db/app" },\n}\n`);
  assert.throws(() => loadConfig({ configPath: file, env: {} }), { message: `config ${file}: is not valid JSON (Expected double-quoted property name at line 3, column 1)` });
  fs.writeFileSync(file, `{ "database": { "url": mysql://${PASSWORD}@db/app } }`);
  assert.throws(() => loadConfig({ configPath: file, env: {} }), { message: `config ${file}: is not valid JSON (Unexpected token 'm')` });
});
