import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { ROOT } from "../helpers/cli.js";

/**
 * The tests leave nothing behind in the temp directory: a folder made with makeTempDir is
 * removed when the test process exits, even when the test file forgot to remove it.
 */
test("a temp folder a test made and forgot is gone once its process exits", () => {
  const helpers = path.join(ROOT, "dist/test/helpers/cli.js");
  const script = `const { makeTempDir } = await import(${JSON.stringify(helpers)}); const dir = makeTempDir(); (await import("node:fs")).writeFileSync(dir + "/file", "x"); console.log(dir);`;
  const dir = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }).trim();
  assert.match(path.basename(dir), /^oj-test-/);
  assert.equal(fs.existsSync(dir), false, `${dir} was left behind`);
});
