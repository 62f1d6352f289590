import assert from "node:assert/strict";
import path from "node:path";
import { after, test } from "node:test";
import fs from "node:fs";
import { configuredUrls } from "../../src/config/database-url.js";
import { loadConfig, parseConfig } from "../../src/config/load-config.js";
import { FatalError } from "../../src/errors.js";
import { makeTempDir, writeConfig } from "../helpers/cli.js";

/** database.urls: the nodes of a cluster in the config (docs/operations.md, "Running on a cluster"). */

const password = "s3cret-that-must-not-leak";
const node = (n: number) => `mysql://jobs:${password}@db-${n}.example.org:3306/app`;
const where = { configPath: "/etc/offline-jobs.json", env: {} };

function fatal(raw: unknown, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(raw, { ...where, env });
  } catch (error) {
    assert.ok(error instanceof FatalError, `expected a FatalError, got ${String(error)}`);
    assert.ok(!error.message.includes(password), `the message shows the password: ${error.message}`);
    return error.message;
  }
  assert.fail("the config should have been refused");
}

test("database.urls lists a cluster's nodes in the order they are tried; database.url alone is a list of one", () => {
  assert.deepEqual(configuredUrls(parseConfig({ database: { urls: [node(1), node(2), node(3)] } }, where).database), [node(1), node(2), node(3)]);
  assert.deepEqual(configuredUrls(parseConfig({ database: { url: node(1) } }, where).database), [node(1)]);
  assert.deepEqual(configuredUrls(parseConfig({ database: { url: node(1), urls: [] } }, where).database), [node(1)], "an empty list is no list");
  assert.deepEqual(configuredUrls(parseConfig({}, where).database), []);
});

test("database.url and database.urls both set is a config error saying to keep one", () => {
  assert.match(fatal({ database: { url: node(1), urls: [node(2)] } }), /database\.url and database\.urls are both set; keep one/);
});

test("a bad URL in database.urls is a config error naming its place in the list, never showing the password", () => {
  assert.match(fatal({ database: { urls: [node(1), `postgres://jobs:${password}@db-2/app`] } }), /database\.urls\[1\] is a postgres:\/\/ URL/);
  assert.match(fatal({ database: { urls: [node(1), node(2), "db-3:3306"] } }), /database\.urls\[2\] must look like mysql:\/\//);
});

test("OFFLINE_JOBS_DATABASE_URL replaces the config's list of nodes", () => {
  const config = parseConfig({ database: { urls: [node(1), node(2)] } }, { ...where, env: { OFFLINE_JOBS_DATABASE_URL: node(9) } });
  assert.deepEqual(configuredUrls(config.database), [node(9)]);
});

const dir = makeTempDir("oj-urls-");
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test("a cluster with a lease shorter than its pause to evict a node allows gets a warning; one server, or 15 s or more, does not", () => {
  const warnings = (config: Record<string, unknown>, name: string) => {
    const said: string[] = [];
    loadConfig({ configPath: writeConfig(dir, { lockDir: path.join(dir, "locks"), ...config }, name), env: {}, warn: (m) => said.push(m) });
    return said.filter((m) => m.includes("leaseSeconds"));
  };
  const short = warnings({ database: { urls: [node(1), node(2)] }, leaseSeconds: 5 }, "short.json");
  assert.equal(short.length, 1, "one warning for a cluster with 5 s leases");
  assert.match(short[0]!, /leaseSeconds 5 is too short for a cluster: .* use 15 or more/);
  assert.deepEqual(warnings({ database: { url: node(1) }, leaseSeconds: 5 }, "one.json"), [], "one server: no cluster pause to ride out");
  assert.deepEqual(warnings({ database: { urls: [node(1), node(2)] }, leaseSeconds: 15 }, "long.json"), []);
});
