import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { privateMariadbUnavailable, usePrivateDatabase } from "../helpers/private-mariadb.js";
import { runCli, writeConfig } from "../helpers/cli.js";

/**
 * `init` on a read-only server (a replica of asynchronous replication) refuses with a sentence
 * that says where to point instead, rather than making a job table there: root passes
 * read_only, so nothing else would stop it.
 */

const replica = usePrivateDatabase("oj_read_only", ["--read-only"]);

test("init refuses a read-only server and says to point database.url at the primary", { skip: privateMariadbUnavailable() }, async () => {
  const config = writeConfig(replica.dir, { database: { url: replica.url }, lockDir: path.join(replica.dir, "locks") });
  const init = await runCli(["init"], { config });
  assert.equal(init.code, 1, `init must refuse a read-only server; stderr:\n${init.stderr}`);
  assert.match(init.stderr, /the database server is read-only \(read_only is on: a replica\?\); point database\.url at the primary/);
});
