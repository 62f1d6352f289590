import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { collect, describeConfig } from "../../src/config/describe-config.js";
import { configSchema } from "../../src/config/schema.js";
import { ROOT } from "../helpers/cli.js";

/**
 * docs/configuration.md is generated from the config schema, so that the reference says what
 * the loader accepts; these tests catch the file and the schema drifting apart.
 */

test("docs/configuration.md is what the schema generates", () => {
  const written = fs.readFileSync(path.join(ROOT, "docs", "configuration.md"), "utf8");
  assert.ok(written === describeConfig(), "docs/configuration.md differs from the config schema: run `npm run docs:config` and commit the result");
});

test("every setting in the schema has a description in the reference", () => {
  const undescribed = collect(configSchema, "config")
    .filter((key) => key.description.trim() === "")
    .map((key) => key.path.replace(/^config\./, ""));
  assert.deepEqual(undescribed, [], "add .describe() to these keys in src/config/schema.ts, then run `npm run docs:config`");
});

test("the reference gives each setting's type and default from the schema", () => {
  const doc = describeConfig();
  assert.match(doc, /\| `maxJobs` \| integer, 1–256 \| `2` \|/, "maxJobs: its bounds and default");
  assert.match(
    doc,
    /\| `lockDir` \| string \| `<OS temp dir>\/offline-jobs` \|/,
    "a default that depends on the machine is written out, not this machine's value",
  );
  assert.match(doc, /\| `types\.<type>\.hidden` \| boolean \| unset \|/, "a record's keys are shown with a placeholder");
  assert.match(doc, /\| `maintenance` \| boolean or string \| `false` \|/);
});
