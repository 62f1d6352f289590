import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { runCli, writeConfig } from "../helpers/cli.js";
import { useTestEnvironment } from "../helpers/environment.js";
import { DEFLATED, hasZip64End, readZip, STORED } from "../helpers/zip.js";

let config: string;
let downloads: string;
let inbox: string;
let outside: string;
const inInbox = (name: string) => path.join(inbox, name);

const env = useTestEnvironment("oj-collection-", () => {
  downloads = path.join(env.dir, "downloads");
  inbox = path.join(env.dir, "in");
  outside = path.join(env.dir, "outside");
  for (const dir of [inbox, outside, inInbox("sub"), inInbox("other")]) fs.mkdirSync(dir, { recursive: true });
  const files: Record<string, Buffer | string> = {
    "photo.jpg": randomBytes(300_000),
    "sub/photo.jpg": randomBytes(1000),
    "other/Photo.JPG": randomBytes(2000),
    "notes.txt": "Notes\n".repeat(100),
    "big.txt": "A line of text that deflate will shrink a lot.\n".repeat(60_000),
    "movie.mp4": randomBytes(2_500_000),
    "manifest.csv": "the user's own manifest\n",
    "tiny.txt": "x",
  };
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(inInbox(name), data);
  fs.writeFileSync(path.join(outside, "secret.txt"), "secret");
  fs.symlinkSync(path.join(outside, "secret.txt"), inInbox("link-out.txt"));
  config = writeConfig(env.dir, {
    database: { url: env.db.url },
    lockDir: path.join(env.dir, "locks"),
    paths: { readRoots: [inbox], writeRoots: [downloads] },
    downloads: { dir: downloads, baseUrl: "https://example.org/dl/", ttlHours: 72 },
    // Three attempts allowed: a failure after the first proves that it was permanent.
    types: { collection_download: { maxAttempts: 3 } },
  });
});

async function runJob(data: unknown, configFile = config) {
  const ref = await env.db.insertJob("collection_download", data, { user: "ann" });
  const run = await runCli(["--job", String(ref)], { config: configFile });
  const [row] = await env.db.query<Record<string, any>>("SELECT * FROM job_queue WHERE ref = ?", [ref]);
  return { run, row: row!, result: row!.result ? JSON.parse(row!.result) : null };
}

const temporaries = (dir = downloads) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith(".tmp")) : []);
const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

test("a collection: one zip under an unguessable name with its URL; names from the files, duplicates numbered, missing files listed", async () => {
  const { row, result } = await runJob({
    name: "holiday-12",
    files: [
      { path: inInbox("photo.jpg") },
      { path: inInbox("sub/photo.jpg") },
      { path: inInbox("other/Photo.JPG") },
      { path: inInbox("notes.txt") },
      { path: inInbox("movie.mp4"), name: "Holiday film.mp4" },
      { path: inInbox("big.txt") },
      { path: inInbox("gone.txt") },
    ],
  });
  assert.equal(row.status, "complete", row.error);
  const name = path.basename(result.path);
  assert.match(name, /^[0-9a-f]{32}-holiday-12\.zip$/, "128 random bits, then the collection's name");
  assert.equal(path.dirname(result.path), downloads);
  assert.equal(result.url, `https://example.org/dl/${name}`);
  assert.equal(result.files, 6);
  assert.equal(result.bytes, fs.statSync(result.path).size);
  assert.deepEqual(result.missing, [inInbox("gone.txt")]);
  assert.match(row.log, /1 of 7 files not found/);

  const entries = await readZip(result.path);
  assert.deepEqual(
    entries.map((e) => [e.name, e.method]),
    [
      ["photo.jpg", STORED],
      ["photo (2).jpg", STORED],
      ["Photo (3).JPG", STORED], // the same name to Windows and macOS
      ["notes.txt", DEFLATED],
      ["Holiday film.mp4", STORED],
      ["big.txt", DEFLATED],
    ],
  );
  const sources = ["photo.jpg", "sub/photo.jpg", "other/Photo.JPG", "notes.txt", "movie.mp4", "big.txt"].map(inInbox);
  entries.forEach((entry, i) => {
    assert.equal(entry.size, fs.statSync(sources[i]!).size, entry.name);
    assert.ok(entry.data!.equals(fs.readFileSync(sources[i]!)), `${entry.name} has its file's bytes`);
  });
  assert.deepEqual(temporaries(), [], "no temporary left");
});

test("unsafe entry names are made safe: no climbing out, no absolute paths or drive letters, no controls; UTF-8 NFC, flagged", async () => {
  const wanted: Array<[string, string]> = [
    ["../../etc/passwd", "etc/passwd"],
    ["C:\\x", "x"],
    ["C:\\Windows\\win.ini", "Windows/win.ini"],
    ["/abs/y.txt", "abs/y.txt"],
    ["..\\..\\evil.txt", "evil.txt"],
    ["a\u0001b\u007f\nc.txt", "abc.txt"],
    ['what?: "this".txt', "what__ _this_.txt"],
    ["\u202Etxt.exe", "txt.exe"],
    ["Gru\u0308\u00dfe/\u65e5\u672c.txt", "Gr\u00fc\u00dfe/\u65e5\u672c.txt"],
    ["..", "notes.txt"],
  ];
  const { row, result } = await runJob({ files: wanted.map(([name]) => ({ path: inInbox("notes.txt"), name })) });
  assert.equal(row.status, "complete", row.error);
  assert.match(path.basename(result.path), new RegExp(`^[0-9a-f]{32}-collection-${row.ref}\\.zip$`), "default name collection-REF");
  const entries = await readZip(result.path); // strict names: yauzl rejects "..", "/…", "\\"
  assert.deepEqual(
    entries.map((e) => e.name),
    wanted.map(([, safe]) => safe),
  );
  const utf8 = entries.find((e) => e.name.startsWith("Gr"))!;
  assert.equal(utf8.utf8, true, "a non-ASCII name carries the UTF-8 flag");
  assert.equal(entries.find((e) => e.name === "x")!.utf8, false);
});

test("compression store and deflate override the per-format choice", async () => {
  const files = [{ path: inInbox("photo.jpg") }, { path: inInbox("big.txt") }, { path: inInbox("movie.mp4") }];
  const stored = await runJob({ files, compression: "store" });
  assert.equal(stored.row.status, "complete", stored.row.error);
  assert.deepEqual(
    (await readZip(stored.result.path)).map((e) => e.method),
    [STORED, STORED, STORED],
  );
  const deflated = await runJob({ files, compression: "deflate" });
  assert.equal(deflated.row.status, "complete", deflated.row.error);
  const entries = await readZip(deflated.result.path);
  assert.deepEqual(
    entries.map((e) => e.method),
    [DEFLATED, DEFLATED, DEFLATED],
  );
  assert.ok(deflated.result.bytes < stored.result.bytes, "deflate shrank the text");
});

test("manifest.csv lists every entry with its source, size and SHA-256; a user's own manifest.csv is renamed", async () => {
  const files = [
    { path: inInbox("photo.jpg") },
    { path: inInbox("manifest.csv") },
    { path: inInbox("movie.mp4"), name: "film, final.mp4" },
    { path: inInbox("big.txt") },
    { path: inInbox("nope.txt") },
  ];
  const { row, result } = await runJob({ files, manifest: true });
  assert.equal(row.status, "complete", row.error);
  assert.equal(result.files, 4, "the manifest is not counted");
  const entries = await readZip(result.path);
  assert.deepEqual(
    entries.map((e) => e.name),
    ["photo.jpg", "manifest (2).csv", "film, final.mp4", "big.txt", "manifest.csv"],
  );
  const manifest = entries.at(-1)!;
  assert.equal(manifest.method, DEFLATED);
  const expected = [
    "name,source,bytes,sha256",
    ...files.slice(0, 4).map((file, i) => {
      const name = entries[i]!.name.includes(",") ? `"${entries[i]!.name.replace(/"/g, '""')}"` : entries[i]!.name;
      return `${name},${file.path},${fs.statSync(file.path).size},${sha256(file.path)}`;
    }),
  ];
  assert.equal(manifest.data!.toString("utf8"), `${expected.join("\r\n")}\r\n`);
});

test("a path outside the read roots (or a symlink out of them) fails the whole job before anything is written", async () => {
  const before = fs.existsSync(downloads) ? fs.readdirSync(downloads) : [];
  for (const bad of [path.join(outside, "secret.txt"), inInbox("link-out.txt")]) {
    const { row } = await runJob({ files: [{ path: inInbox("notes.txt") }, { path: bad }] });
    assert.equal(row.status, "failed");
    assert.match(row.error, /outside the allowed roots/);
    assert.equal(row.attempts, 1, "permanent: not retried");
  }
  assert.deepEqual(fs.existsSync(downloads) ? fs.readdirSync(downloads) : [], before, "nothing written");
});

test("a collection larger than downloads.maxCollectionBytes fails at once with a sentence naming the setting, and writes nothing", async () => {
  const capped = writeConfig(
    env.dir,
    { ...JSON.parse(fs.readFileSync(config, "utf8")), downloads: { dir: downloads, baseUrl: "https://example.org/dl/", maxCollectionBytes: 1_000_000 } },
    "capped.json",
  );
  const before = fs.existsSync(downloads) ? fs.readdirSync(downloads) : [];
  // 300 KB + 2.5 MB: over the 1 MB cap; the same file named many times counts every time.
  for (const files of [[inInbox("photo.jpg"), inInbox("movie.mp4")], Array.from({ length: 4 }, () => inInbox("photo.jpg"))]) {
    const { row } = await runJob({ files: files.map((file) => ({ path: file })) }, capped);
    assert.equal(row.status, "failed", "a collection over the cap must not be zipped");
    assert.match(row.error, /^the files add up to [\d.]+ (KiB|MiB), more than downloads\.maxCollectionBytes \(976\.6 KiB\) allows$/);
    assert.equal(row.attempts, 1, "permanent: not retried");
  }
  assert.deepEqual(fs.existsSync(downloads) ? fs.readdirSync(downloads) : [], before, "nothing written");
  const { row } = await runJob({ files: [{ path: inInbox("photo.jpg") }] }, capped);
  assert.equal(row.status, "complete", `a collection under the cap is zipped: ${row.error}`);
});

test("when none of the files exist the job fails permanently and leaves nothing", async () => {
  const before = fs.existsSync(downloads) ? fs.readdirSync(downloads).length : 0;
  const { row } = await runJob({ files: [{ path: inInbox("a.txt") }, { path: inInbox("sub") }] });
  assert.equal(row.status, "failed");
  assert.equal(row.error, "none of the 2 files were found");
  assert.equal(row.attempts, 1);
  assert.equal(fs.existsSync(downloads) ? fs.readdirSync(downloads).length : 0, before);
});

test("job_data is bounded: more than 100,000 files is refused", async () => {
  const { row } = await runJob({ files: Array.from({ length: 100_001 }, () => ({ path: inInbox("tiny.txt") })) });
  assert.equal(row.status, "failed");
  assert.match(row.error, /^job_data is invalid for collection_download: files/);
});

test("more than 65,535 entries: a ZIP64 archive that unzippers read whole", async () => {
  const count = 65_600;
  const started = Date.now();
  const { row, result } = await runJob({ files: Array.from({ length: count }, () => ({ path: inInbox("tiny.txt") })), compression: "store" });
  assert.equal(row.status, "complete", row.error);
  assert.equal(result.files, count);
  assert.ok(hasZip64End(result.path), "ZIP64 end of central directory");
  const entries = await readZip(result.path, { data: false });
  assert.equal(entries.length, count);
  assert.equal(entries[0]!.name, "tiny.txt");
  assert.equal(entries.at(-1)!.name, `tiny (${count}).txt`);
  assert.equal(new Set(entries.map((e) => e.name)).size, count, "all names unique");
  if (fs.existsSync("/usr/bin/unzip")) assert.equal(execFileSync("unzip", ["-tqq", result.path], { encoding: "utf8" }), "", "Info-ZIP unzip tests it clean");
  fs.rmSync(result.path);
  console.log(`# ${count} entries in ${Date.now() - started} ms, the job itself ${Date.parse(row.finished_at) - Date.parse(row.started_at)} ms`);
});

test("a full disk fails the job with a clear message and removes the partial zip", async (t) => {
  const small = path.join(env.dir, "small-disk");
  fs.mkdirSync(small);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", small], { stdio: "pipe" });
  } catch (error) {
    t.skip(`cannot mount a 2 MB tmpfs here (${String((error as Error).message).split("\n")[0]}); test/media/zip.test.ts covers ENOSPC with /dev/full`);
    return;
  }
  t.after(() => execFileSync("umount", [small]));
  const smallConfig = writeConfig(
    env.dir,
    {
      ...JSON.parse(fs.readFileSync(config, "utf8")),
      paths: { readRoots: [inbox], writeRoots: [small] },
      downloads: { dir: small, baseUrl: "https://example.org/dl/" },
    },
    "small.json",
  );
  const { row } = await runJob({ files: [{ path: inInbox("movie.mp4") }, { path: inInbox("photo.jpg") }] }, smallConfig);
  assert.equal(row.status, "failed");
  assert.equal(row.error, "disk full while writing the zip");
  assert.equal(row.attempts, 1);
  assert.deepEqual(fs.readdirSync(small), [], "the partial zip was removed");
});
