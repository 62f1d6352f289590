import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { keysAt } from "../../src/config/schema-keys.js";
import { configSchema } from "../../src/config/schema.js";
import { ROOT } from "../helpers/cli.js";

/**
 * Facts the README, docs/ and config.example.json state, checked against each other and the
 * code, so that a new operator following them meets no contradiction.
 */

const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const docs = fs
  .readdirSync(path.join(ROOT, "docs"))
  .filter((name) => name.endsWith(".md"))
  .map((name) => ({ name: `docs/${name}`, text: fs.readFileSync(path.join(ROOT, "docs", name), "utf8") }));
const configuration = fs.readFileSync(path.join(ROOT, "docs", "configuration.md"), "utf8");
const example = fs.readFileSync(path.join(ROOT, "config.example.json"), "utf8");

test("the config file's mode is the same everywhere: 0600, which is what the loader's warning asks for", () => {
  assert.doesNotMatch(example, /0640|mode 640/, "config.example.json must not suggest a group-readable mode");
  assert.match(example, /mode 0600/);
  assert.doesNotMatch(readme, /0640|mode 640/, "README must not suggest a group-readable mode");
  for (const doc of docs) assert.doesNotMatch(doc.text, /0640|mode 640/, `${doc.name} must not suggest a group-readable mode`);
});

test("the install steps create the offline-jobs account before the first command that uses it", () => {
  const lines = readme.split("\n");
  const created = lines.findIndex((line) => /useradd\b.*\boffline-jobs\b/.test(line));
  const used = lines.findIndex((line) => /-o offline-jobs\b|chown offline-jobs\b/.test(line));
  assert.ok(created >= 0, "the README says how to create the account");
  assert.ok(used < 0 || created < used, `useradd (line ${created + 1}) must come before its first use (line ${used + 1})`);
});

test("the database user the README creates can log in through the example config's URL", () => {
  const url = new URL((JSON.parse(example) as { database: { url: string } }).database.url);
  const created = /CREATE USER '([^']+)'@'([^']+)'/.exec(readme);
  assert.ok(created, "the README shows a CREATE USER");
  assert.equal(created[1], decodeURIComponent(url.username), "the same user name");
  // 'localhost' matches only socket connections on a server with skip_name_resolve; the URL is TCP.
  assert.equal(created[2], url.hostname, "the host part matches the address the example URL connects to");
});

test("the config reference calls no setting the schema has 'reserved' or 'not used yet'", () => {
  const rows = configuration.split("\n").filter((line) => /^\| `[^`]+` \|/.test(line) && /reserved|not used yet/i.test(line));
  assert.deepEqual(rows, [], "every documented setting does something; say what");
  assert.ok(keysAt(configSchema, ["types", "noop"]).includes("hidden"), "types.<type>.hidden is a setting");
});

test("types.<type>.hidden is described by what it does: types, doctor and the jobs page's create menu leave the type out, runs still claim it", () => {
  const row = configuration.split("\n").find((line) => line.startsWith("| `types.<type>.hidden` |"));
  assert.ok(row, "docs/configuration.md documents types.<type>.hidden");
  assert.match(row, /`types`/);
  assert.match(row, /`doctor`/);
  assert.match(row, /still claimed and run/);
  assert.match(row, /jobs page's create menu/, "the jobs page offers no hidden type to create");
});

test("the README starts with the two commands CI and a newcomer run", () => {
  const block = /^# offline-jobs\n\n```sh\n([^`]*)```/.exec(readme);
  assert.ok(block, "the README opens with a sh code block");
  assert.match(block[1]!, /^bash scripts\/setup\.sh && npm run demo /m);
  assert.match(block[1]!, /^npm test /m);
  // 360, not 300: the README now also holds the jobs page (identity modes, proxy snippets),
  // the cluster and the benchmarks' tables, each asked for there; every detail is in docs/.
  assert.ok(readme.split("\n").length <= 360, "the README stays short: the rest belongs in docs/");
});
