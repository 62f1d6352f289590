import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { resolveDeletable, resolveInside } from "../../src/job/path-guard.js";
import { runCli, writeConfig } from "../helpers/cli.js";
import { tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * A folder beside a root whose name starts with the root's (`…/files-evil` beside the root
 * `…/files`) is outside it: a guard that compared the root as a bare string prefix would let
 * a row read, write or delete there. Through the path guard itself and through real handlers.
 */

let config: string;
let files: string;
let out: string;
let filesEvil: string;
let outEvil: string;
const env = useTestEnvironment("oj-hostile-siblings-", async (e) => {
  files = path.join(e.dir, "files");
  out = path.join(e.dir, "out");
  filesEvil = path.join(e.dir, "files-evil");
  outEvil = path.join(e.dir, "out-evil");
  for (const dir of [files, out, filesEvil, outEvil]) fs.mkdirSync(dir);
  fs.writeFileSync(path.join(filesEvil, "secret.txt"), "the sibling's secret");
  fs.writeFileSync(path.join(outEvil, "victim.txt"), "must survive");
  await sharp({ create: { width: 32, height: 32, channels: 3, background: "#336699" } })
    .png()
    .toFile(path.join(files, "photo.png"));
  config = writeConfig(e.dir, {
    database: { url: e.db.url },
    lockDir: path.join(e.dir, "locks"),
    paths: { readRoots: [files], writeRoots: [out] },
    types: { extract_text: { maxAttempts: 1 }, create_alternative_file: { maxAttempts: 1 }, delete_file: { maxAttempts: 1 } },
  });
});

test("the path guard refuses a sibling folder that shares a read root's or a write root's name as a prefix", async () => {
  await assert.rejects(
    resolveInside(path.join(filesEvil, "secret.txt"), [files], "source"),
    /outside the allowed roots/,
    "a source in files-evil must be refused for the read root files",
  );
  await assert.rejects(
    resolveInside(path.join(outEvil, "new.webp"), [out], "output"),
    /outside the allowed roots/,
    "an output in out-evil must be refused for the write root out",
  );
  await assert.rejects(
    resolveDeletable(path.join(outEvil, "victim.txt"), [out]),
    /outside the allowed roots/,
    "a deletion in out-evil must be refused for the write root out",
  );
  // The roots' own names without the separator, too: `…/files-evil` itself.
  await assert.rejects(resolveInside(filesEvil, [files], "source"), /outside the allowed roots/);
  await assert.rejects(resolveDeletable(outEvil, [out]), /outside the allowed roots/);
  // And what is inside still passes.
  assert.equal(await resolveInside(path.join(files, "photo.png"), [files], "source"), fs.realpathSync(path.join(files, "photo.png")));
});

async function runJob(type: string, data: unknown) {
  const ref = await env.db.insertJob(type, data);
  const run = await runCli(["--job", String(ref)], { config, timeoutMs: 60_000 });
  const [row] = await env.db.query<{ status: string; error: string | null; result: string | null }>(
    "SELECT status, error, result FROM job_queue WHERE ref = ?",
    [ref],
  );
  return { run, row: row! };
}

test("jobs cannot read, write or delete in a sibling folder that shares a root's name as a prefix", { timeout: 120_000 }, async () => {
  const read = await runJob("extract_text", { source: path.join(filesEvil, "secret.txt") });
  assert.equal(read.row.status, "failed", `reading files-evil must fail:\n${tail(read.run.stderr)}`);
  assert.match(read.row.error ?? "", /outside the allowed roots/);
  assert.doesNotMatch(read.row.result ?? "", /sibling's secret/, "the sibling's file must not have been read");

  const output = path.join(outEvil, "alt.webp");
  const write = await runJob("create_alternative_file", {
    source: path.join(files, "photo.png"),
    output,
    transform: { format: "webp", width: 16, height: 16, quality: 60 },
  });
  assert.equal(write.row.status, "failed", `writing into out-evil must fail:\n${tail(write.run.stderr)}`);
  assert.match(write.row.error ?? "", /outside the allowed roots/);
  assert.equal(fs.existsSync(output), false, "nothing may be written into out-evil");

  const del = await runJob("delete_file", { paths: [path.join(outEvil, "victim.txt")] });
  assert.equal(del.row.status, "failed", `deleting in out-evil must fail:\n${tail(del.run.stderr)}`);
  assert.match(del.row.error ?? "", /outside the allowed roots/);
  assert.equal(fs.readFileSync(path.join(outEvil, "victim.txt"), "utf8"), "must survive");
});
