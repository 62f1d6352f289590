import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { sanitizeEntryName, UniqueNames } from "../../src/handlers/collection-names.js";
import collectionDownload from "../../src/handlers/collection-download.js";
import type { JobContext } from "../../src/job/handler.js";
import { writeZip } from "../../src/media/zip.js";
import { DEFLATED, hasZip64End, readZip, STORED } from "../helpers/zip.js";

let dir: string;
const file = (name: string) => path.join(dir, name);
const openFds = () => fs.readdirSync("/proc/self/fd").length;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "oj-zip-"));
  fs.writeFileSync(file("a.bin"), randomBytes(3 << 20));
  fs.writeFileSync(file("b.txt"), "text ".repeat(1000));
  fs.writeFileSync(file("empty"), "");
  fs.writeFileSync(file("big.bin"), randomBytes(48 << 20));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test("writeZip: files stored or deflated as asked, an empty file, progress up to the total, a vanished file reported", async () => {
  const progress: number[] = [];
  const total = fs.statSync(file("a.bin")).size + fs.statSync(file("b.txt")).size;
  const result = await writeZip(
    [
      { source: file("a.bin"), name: "a.bin", store: true },
      { source: file("gone"), name: "gone", store: true },
      { source: file("b.txt"), name: "dir/b.txt", store: false },
      { source: file("empty"), name: "empty", store: false },
      { content: () => Buffer.from("made last"), name: "note.txt", store: true },
    ],
    file("out.zip"),
    { totalBytes: total, onProgress: (done, all) => progress.push(done / all) },
  );
  assert.equal(result.entries, 4);
  assert.deepEqual(
    result.missing.map((e) => e.name),
    ["gone"],
  );
  assert.equal(result.bytes, fs.statSync(file("out.zip")).size);
  assert.deepEqual(
    progress,
    [...progress].sort((x, y) => x - y),
    "progress only grows",
  );
  assert.equal(progress.at(-1), 1);
  const entries = await readZip(file("out.zip"));
  assert.deepEqual(
    entries.map((e) => [e.name, e.method, e.size]),
    [
      ["a.bin", STORED, 3 << 20],
      ["dir/b.txt", DEFLATED, 5000],
      ["empty", STORED, 0], // archiver stores empty entries whatever was asked
      ["note.txt", STORED, 9],
    ],
  );
  assert.ok(entries[0]!.data!.equals(fs.readFileSync(file("a.bin"))));
});

test("writeZip: a write error rejects with a clear message (ENOSPC from /dev/full; a missing folder)", async () => {
  const entries = [{ source: file("a.bin"), name: "a.bin", store: true }];
  const fds = openFds();
  await assert.rejects(writeZip(entries, "/dev/full"), { name: "PermanentError", message: "disk full while writing the zip" });
  await assert.rejects(writeZip(entries, file("no/such/dir.zip")), { name: "PermanentError", message: "could not write the zip: ENOENT" });
  // Read-ahead files are closed in the background after the rejection: give them a moment.
  for (let i = 0; i < 20 && openFds() !== fds; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(openFds(), fds, "no file descriptor left open");
});

test("writeZip: an abort stops at once with the signal's reason and closes every file", async () => {
  const controller = new AbortController();
  const reason = new Error("cancelled by test");
  const fds = openFds();
  const entries = Array.from({ length: 20 }, (_, i) => ({ source: file("big.bin"), name: `${i}.bin`, store: i % 2 === 0 }));
  let abortedAt = 0;
  await assert.rejects(
    writeZip(entries, file("aborted.zip"), {
      signal: controller.signal,
      totalBytes: 20 * (48 << 20),
      onProgress: (done) => {
        if (!abortedAt && done > 100 << 20) {
          abortedAt = Date.now();
          controller.abort(reason);
        }
      },
    }),
    (error: unknown) => error === reason,
  );
  assert.ok(abortedAt > 0);
  assert.ok(Date.now() - abortedAt < 1000, "rejected soon after the abort");
  await new Promise((resolve) => setTimeout(resolve, 100)); // closes finish in the background
  assert.equal(openFds(), fds, "no file descriptor left open");
});

test("collection_download: a cancelled job removes its partial zip", async () => {
  const downloads = file("downloads");
  const controller = new AbortController();
  const reason = new Error("cancelled");
  const context = {
    ref: 7,
    signal: controller.signal,
    log: { info() {}, warn() {}, error() {}, output() {} },
    progress: (percent: number) => percent > 10 && controller.abort(reason),
    config: { downloads: { dir: downloads, baseUrl: "https://example.org/dl/", ttlHours: 1 } },
    paths: { readable: async (p: string) => p, writable: async (p: string) => p },
  } as unknown as JobContext;
  const data = collectionDownload.schema.parse({ files: Array.from({ length: 10 }, () => ({ path: file("big.bin") })) });
  await assert.rejects(collectionDownload.run(context, data), (error: unknown) => error === reason);
  assert.deepEqual(fs.readdirSync(downloads), [], "nothing left in downloads.dir");
});

test("importing the zip module does not load archiver; making a zip does", async () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const moduleUrl = new URL(`file://${path.join(here, "../../src/media/zip.js")}`).href;
  const script = `
    const m = await import(${JSON.stringify(moduleUrl)});
    const { createRequire } = await import("node:module");
    const cache = createRequire(import.meta.url).cache;
    const loaded = () => Object.keys(cache).some((k) => k.includes("/node_modules/lazystream/"));
    const before = loaded();
    await m.writeZip([{ source: ${JSON.stringify(file("b.txt"))}, name: "b.txt", store: false }], ${JSON.stringify(file("lazy.zip"))});
    console.log(before, loaded());`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script]);
  assert.equal(stdout.trim(), "false true");
});

test("entry names: sanitised, unique without regard to case, a file never where a folder is", () => {
  assert.equal(sanitizeEntryName("..\\..\\a/./b/../c.txt"), "a/b/c.txt");
  assert.equal(sanitizeEntryName("D:relative.txt"), "relative.txt");
  assert.equal(sanitizeEntryName("//server/share/x"), "server/share/x");
  assert.equal(sanitizeEntryName("trailing dots... "), "trailing dots");
  assert.equal(sanitizeEntryName("\u0000\u0085"), "");
  assert.equal([...sanitizeEntryName(`${"n".repeat(300)}.jpeg`)].length, 120);
  assert.ok(sanitizeEntryName(`${"n".repeat(300)}.jpeg`).endsWith("n.jpeg"));
  const names = new UniqueNames();
  assert.deepEqual(
    ["a.txt", "A.TXT", "a (2).txt", "a.txt", "x", "x/y.txt", "p/q.txt", "p", "noext", "noext"].map((n) => names.take(n)),
    ["a.txt", "A (2).TXT", "a (2) (2).txt", "a (3).txt", "x", "x_y.txt", "p/q.txt", "p (2)", "noext", "noext (2)"],
  );
  const many = new UniqueNames();
  const started = Date.now();
  for (let i = 0; i < 100_000; i++) many.take("photo.jpg");
  assert.equal(many.take("photo.jpg"), "photo (100001).jpg");
  assert.ok(Date.now() - started < 2000, "linear in the number of duplicates");
});

test(
  "ZIP64 for an entry over 4 GiB (a sparse file; set OJ_TEST_ZIP64_LARGE=1, takes a while)",
  { skip: process.env.OJ_TEST_ZIP64_LARGE ? false : "set OJ_TEST_ZIP64_LARGE=1 to zip a 4.1 GiB sparse file" },
  async () => {
    const size = Math.round(4.1 * 2 ** 30);
    fs.writeFileSync(file("huge.bin"), "start");
    fs.truncateSync(file("huge.bin"), size);
    try {
      const result = await writeZip(
        [
          { source: file("b.txt"), name: "b.txt", store: false },
          { source: file("huge.bin"), name: "huge.bin", store: true },
        ],
        file("huge.zip"),
        { totalBytes: size },
      );
      assert.ok(result.bytes > size);
      assert.ok(hasZip64End(file("huge.zip")));
      const entries = await readZip(file("huge.zip"), { data: false });
      assert.deepEqual(
        entries.map((e) => [e.name, e.size]),
        [
          ["b.txt", 5000],
          ["huge.bin", size],
        ],
      );
      if (fs.existsSync("/usr/bin/unzip")) assert.equal(execFileSync("unzip", ["-tqq", file("huge.zip")], { encoding: "utf8" }), "", "CRCs check out");
    } finally {
      fs.rmSync(file("huge.bin"), { force: true });
      fs.rmSync(file("huge.zip"), { force: true });
    }
  },
);

test("writeZip: maxBytes stops a zip whose files turn out larger than listed (a file that grew), with the caller's error", async () => {
  await assert.rejects(
    writeZip([{ source: file("a.bin"), name: "a.bin", store: true }], file("grown.zip"), {
      totalBytes: 1000,
      maxBytes: 1 << 20,
      tooLarge: () => new Error("over the cap"),
    }),
    /over the cap/,
  );
});
