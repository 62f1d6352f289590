import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { loadConfig } from "../../src/config/load-config.js";
import { redactUrl } from "../../src/config/redact-url.js";
import { makeTempDir, runCli, writeConfig } from "../helpers/cli.js";

/**
 * A config file holding the database password (or another secret) and readable by group or
 * others gets a warning, as ssh gives for a private key: once, naming the keys and the mode,
 * never the secret itself (SECURITY.md, "Trust model").
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
  assert.equal(
    warnings[0],
    `config ${file} holds secrets (database.url's password) but is readable by other users (mode 644); make it private: chmod 600 ${file}`,
  );
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
  assert.throws(() => loadConfig({ configPath: file, env: {} }), {
    message: `config ${file}: is not valid JSON (Expected double-quoted property name at line 3, column 1)`,
  });
  fs.writeFileSync(file, `{ "database": { "url": mysql://${PASSWORD}@db/app } }`);
  assert.throws(() => loadConfig({ configPath: file, env: {} }), { message: `config ${file}: is not valid JSON (Unexpected token 'm')` });
});

test("a config its group or other users can write is refused, naming the mode and the fix; a real command stops on it", async () => {
  for (const [mode, who] of [
    [0o620, "its group"],
    [0o602, "other users"],
    [0o666, "other users"],
  ] as const) {
    const file = configFile(`writable-${mode.toString(8)}.json`, { database: { url: "mysql://app@127.0.0.1/app" } }, mode);
    assert.throws(() => loadConfig({ configPath: file, env: {} }), {
      name: "FatalError",
      message: `config ${file} is writable by ${who} (mode ${mode.toString(8)}), who could make the runner start any program; refusing it: chmod go-w ${file}`,
    });
  }
  const file = configFile("writable-cli.json", { ...withPassword, lockDir: path.join(dir, "locks") }, 0o646);
  const run = await runCli(["list"], { config: file });
  assert.notEqual(run.code, 0, "the command must not run with a config others can write");
  assert.match(run.stderr, /is writable by other users \(mode 646\)/);
  assert.ok(!run.stderr.includes(PASSWORD), "the password is not shown");
});

test("a config file or lockDir inside a read or write root is warned about at load, once, naming the root", () => {
  const root = path.join(dir, "store");
  fs.mkdirSync(root, { recursive: true });
  const file = writeConfig(root, { paths: { readRoots: ["."], writeRoots: [path.join(dir, "out")] }, lockDir: path.join(dir, "out", "locks") }, "inside.json");
  const warnings = warningsFor(file);
  assert.deepEqual(warnings, [
    `the config file ${file} is inside paths.readRoots ${root}, where jobs can read or write it; move it out of the roots`,
    `lockDir ${path.join(dir, "out", "locks")} is inside paths.writeRoots ${path.join(dir, "out")}, where jobs can read or write it; move it out of the roots`,
  ]);
  assert.deepEqual(warningsFor(file), [], "not again in the same process");
  // A sibling that shares the root's prefix is not inside it.
  const sibling = writeConfig(dir, { paths: { readRoots: [path.join(dir, "sto")], writeRoots: [] }, lockDir: path.join(dir, "store-locks") }, "sibling.json");
  assert.deepEqual(warningsFor(sibling), []);
});

test("a webhook URL with a token in its query or user name is a secret: warned about when readable, redacted when printed", () => {
  const TOKEN = "tok-3f9a-not-for-logs";
  for (const url of [
    `https://hooks.example.org/notify?token=${TOKEN}`,
    `https://${TOKEN}@hooks.example.org/notify`,
    `https://hooks.example.org/x?a=1&api_key=${TOKEN}`,
  ]) {
    const file = configFile(`hook-${warnCount++}.json`, { notify: { webhook: { url } } }, 0o644);
    const [warning] = warningsFor(file);
    assert.match(warning ?? "", /holds secrets \(notify\.webhook\.url's credentials\) but is readable by other users/, url);
    assert.ok(!warning!.includes(TOKEN), "the warning does not show the token");
    assert.ok(!redactUrl(url).includes(TOKEN), `redactUrl hides the token: ${redactUrl(url)}`);
  }
  assert.deepEqual(
    warningsFor(configFile("hook-plain.json", { notify: { webhook: { url: "https://hooks.example.org/notify?channel=ops" } } }, 0o644)),
    [],
    "a plain query is no secret",
  );
});
let warnCount = 0;

test("a database URL whose password holds an unencoded / ? # or @ is a config error saying to percent-encode it, never showing the password", () => {
  for (const url of [
    "mysql://app:pa/ss@127.0.0.1/app",
    "mysql://app:12/ss@127.0.0.1/app",
    "mysql://app:pa#ss@127.0.0.1/app",
    "mysql://app:pa?ss@127.0.0.1/app",
    "mysql://app:p@ss@127.0.0.1/app",
  ]) {
    const file = configFile("bad-url.json", { database: { url } }, 0o600);
    assert.throws(
      () => loadConfig({ configPath: file, env: {} }),
      (error: Error) => {
        assert.equal(error.name, "FatalError");
        assert.match(
          error.message,
          new RegExp(
            `^config ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: database\\.url: the user name or password holds an? .+ that is not percent-encoded; percent-encode special characters`,
          ),
          url,
        );
        assert.match(error.message, /"\/" as %2F/);
        assert.ok(!error.message.includes("ss@"), `the message shows the URL: ${error.message}`);
        return true;
      },
    );
  }
  assert.throws(
    () => loadConfig({ env: { OFFLINE_JOBS_DATABASE_URL: "mysql://app:pa/ss@127.0.0.1/app" }, cwd: dir }),
    /^FatalError: OFFLINE_JOBS_DATABASE_URL: the user name or password holds/,
  );
  const encoded = configFile("encoded-url.json", { database: { url: "mysql://app:pa%2Fss%40x@127.0.0.1/app" } }, 0o600);
  assert.equal(loadConfig({ configPath: encoded, env: {} }).database.url, "mysql://app:pa%2Fss%40x@127.0.0.1/app", "a percent-encoded password is fine");
});
