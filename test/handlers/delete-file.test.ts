import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { runCli, writeConfig } from "../helpers/cli.js";
import { useTestEnvironment } from "../helpers/environment.js";

let config: string;
/** The write root. */
let store: string;
/** A read root only: readable, but nothing in it may be deleted. */
let inbox: string;
/** Outside every root: a canary file and a folder that symlinks inside the root point at. */
let outside: string;
let canary: string;
let secret: string;

const env = useTestEnvironment("oj-delete-", () => {
  store = path.join(env.dir, "store");
  inbox = path.join(env.dir, "in");
  outside = path.join(env.dir, "outside");
  canary = path.join(outside, "canary.txt");
  secret = path.join(outside, "dir", "secret.txt");
  for (const dir of [store, inbox, path.dirname(secret)]) fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(canary, "canary");
  fs.writeFileSync(secret, "secret");
  fs.writeFileSync(path.join(inbox, "source.txt"), "source");
  config = writeConfig(env.dir, {
    database: { url: env.db.url },
    lockDir: path.join(env.dir, "locks"),
    paths: { readRoots: [inbox, store], writeRoots: [store] },
    types: { delete_file: { maxAttempts: 1 } },
  });
});

async function runJob(data: unknown) {
  const ref = await env.db.insertJob("delete_file", data);
  const run = await runCli(["--job", String(ref)], { config });
  const [row] = await env.db.query<Record<string, any>>("SELECT * FROM job_queue WHERE ref = ?", [ref]);
  return { run, row: row!, result: row!.result ? JSON.parse(row!.result) : null };
}

/** A fresh folder in the store with these files (name → content); returns the folder. */
function folder(name: string, files: Record<string, string> = {}): string {
  const dir = path.join(store, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

/** Whether the path itself is there (a symlink counts, wherever it points). */
const exists = (p: string) => fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined;

test("files inside the root are deleted; paths already gone are listed as missing", async () => {
  const dir = folder("plain", { "a.txt": "a", "b.txt": "b", "sub/c.txt": "c" });
  const [a, b, c, gone] = ["a.txt", "b.txt", "sub/c.txt", "gone.txt"].map((f) => path.join(dir, f)) as [string, string, string, string];
  const { row, result } = await runJob({ paths: [a, b, c, gone] });
  assert.equal(row.status, "complete", row.error);
  assert.deepEqual(result.deleted, [a, b, c]);
  assert.deepEqual(result.missing, [gone]);
  for (const file of [a, b, c]) assert.equal(exists(file), false, `${file} is gone`);
  assert.equal(exists(path.join(dir, "sub")), true, "the folder holding a deleted file stays");
});

test("running the same job data again still completes: everything is now missing", async () => {
  const dir = folder("twice", { "a.txt": "a" });
  const data = { path: path.join(dir, "a.txt") };
  const first = await runJob(data);
  assert.equal(first.row.status, "complete", first.row.error);
  assert.deepEqual(first.result.deleted, [data.path]);
  const second = await runJob(data);
  assert.equal(second.row.status, "complete", second.row.error);
  assert.deepEqual(second.result.deleted, []);
  assert.deepEqual(second.result.missing, [data.path]);
});

test("one path outside the write roots fails the whole job before anything is deleted", async () => {
  const dir = folder("mixed", { "a.txt": "a", "b.txt": "b" });
  const [a, b] = [path.join(dir, "a.txt"), path.join(dir, "b.txt")];
  for (const intruder of [canary, path.join(inbox, "source.txt"), path.join(outside, "not-there.txt")]) {
    const { row } = await runJob({ paths: [a, intruder, b] });
    assert.equal(row.status, "failed", `${intruder} must be refused`);
    assert.match(row.error, /is outside the allowed roots/);
    assert.ok(exists(a) && exists(b), "the valid paths listed with it are still there");
    assert.ok(exists(intruder) || intruder.endsWith("not-there.txt"));
  }
  assert.equal(fs.readFileSync(path.join(inbox, "source.txt"), "utf8"), "source", "a read root is not a write root");
});

test("a symlink inside the root that points outside is deleted itself; its target stays", async () => {
  const dir = folder("links");
  const link = path.join(dir, "canary-link");
  fs.symlinkSync(canary, link);
  const { row, result } = await runJob({ path: link });
  assert.equal(row.status, "complete", row.error);
  assert.deepEqual(result.deleted, [link]);
  assert.equal(exists(link), false, "the link is gone");
  assert.equal(fs.readFileSync(canary, "utf8"), "canary", "its target is untouched");
});

test("a symlinked directory that leads outside the root cannot be used to reach the files behind it", async () => {
  const dir = folder("dir-links");
  const link = path.join(dir, "outside-dir");
  fs.symlinkSync(path.dirname(secret), link);
  for (const data of [{ path: path.join(link, "secret.txt") }, { path: path.join(link, "secret.txt"), recursive: true }]) {
    const { row } = await runJob(data);
    assert.equal(row.status, "failed");
    assert.match(row.error, /is outside the allowed roots/);
  }
  assert.equal(fs.readFileSync(secret, "utf8"), "secret");

  // The link itself is inside the root: it may go, and the folder it points at stays whole.
  const { row, result } = await runJob({ path: link });
  assert.equal(row.status, "complete", row.error);
  assert.deepEqual(result.deleted, [link]);
  assert.equal(exists(link), false);
  assert.equal(fs.readFileSync(secret, "utf8"), "secret");
});

test("a directory is deleted only with recursive, and its symlinks to outside are not followed", async () => {
  const dir = folder("tree/inner", { "a.txt": "a", "deep/b.txt": "b" });
  fs.symlinkSync(path.dirname(secret), path.join(dir, "outside-dir"));
  fs.symlinkSync(canary, path.join(dir, "deep", "canary-link"));

  const refused = await runJob({ paths: [path.join(dir, "a.txt"), dir] });
  assert.equal(refused.row.status, "failed");
  assert.equal(refused.row.error, `${JSON.stringify(dir)} is a directory; set recursive to delete it`);
  assert.ok(exists(path.join(dir, "a.txt")), "nothing was deleted, not even the file listed before it");

  const { row, result } = await runJob({ path: dir, recursive: true });
  assert.equal(row.status, "complete", row.error);
  assert.deepEqual(result.deleted, [dir]);
  assert.equal(exists(dir), false);
  assert.equal(fs.readFileSync(secret, "utf8"), "secret");
  assert.equal(fs.readFileSync(canary, "utf8"), "canary");
});

test("the root itself is never deleted, however it is spelled", async () => {
  folder("keep", { "a.txt": "a" });
  for (const root of [store, `${store}/`, `${store}/.`, `${store}//.`]) {
    const { row } = await runJob({ path: root, recursive: true });
    assert.equal(row.status, "failed", `${root} must be refused`);
    assert.match(row.error, /is an allowed root or holds one/);
  }
  const { row } = await runJob({ path: env.dir, recursive: true });
  assert.equal(row.status, "failed", "nor a folder holding the root");
  assert.ok(exists(path.join(store, "keep", "a.txt")));
});

test("traversal, relative paths, file:// URLs, Windows paths and NUL bytes are refused", async () => {
  const dir = folder("odd", { "a.txt": "a" });
  const refused: [string, RegExp][] = [
    [`${dir}/../../outside/canary.txt`, /contains a "\.\." segment/],
    [`${dir}/../odd/a.txt`, /contains a "\.\." segment/],
    ["store/odd/a.txt", /is not absolute/],
    ["./a.txt", /is not absolute/],
    [`file://${dir}/a.txt`, /is not absolute/],
    ["C:\\Windows\\win.ini", /is not absolute/],
    [`${dir}/a.txt\0.jpg`, /contains a NUL character/],
  ];
  for (const [p, message] of refused) {
    const { row } = await runJob({ paths: [p] });
    assert.equal(row.status, "failed", `${JSON.stringify(p)} must be refused`);
    assert.match(row.error, message);
  }
  assert.ok(exists(path.join(dir, "a.txt")));
});

test("job_data gives either path or paths, with at most 10,000 paths", async () => {
  const dir = folder("shape", { "a.txt": "a" });
  for (const data of [
    {},
    { path: path.join(dir, "a.txt"), paths: [path.join(dir, "a.txt")] },
    { paths: [] },
    { paths: Array(10_001).fill(path.join(dir, "a.txt")) },
  ]) {
    const { row } = await runJob(data);
    assert.equal(row.status, "failed");
    assert.match(row.error, /^job_data is invalid for delete_file/);
  }
  assert.ok(exists(path.join(dir, "a.txt")));
});

test("a file the runner may not delete fails the job with a clear message", async (t) => {
  const dir = folder("locked", { "a.txt": "a", "sub/b.txt": "b" });
  const [a, b] = [path.join(dir, "a.txt"), path.join(dir, "sub", "b.txt")];
  const unlock = lockAgainstDeletion(b);
  if (!unlock) return t.skip("cannot make a file undeletable here");
  try {
    const { row, result } = await runJob({ paths: [a, b] });
    assert.equal(row.status, "failed");
    assert.match(row.error, /^permission denied: cannot delete ".*b\.txt" \(E(PERM|ACCES)\)$/);
    assert.deepEqual(result.deleted, [a], "a failed job keeps what it deleted");
    assert.ok(exists(b));
  } finally {
    unlock();
  }
});

test("nothing outside the roots was touched by any of it", () => {
  assert.equal(fs.readFileSync(canary, "utf8"), "canary");
  assert.equal(fs.readFileSync(secret, "utf8"), "secret");
  assert.deepEqual(fs.readdirSync(outside).sort(), ["canary.txt", "dir"]);
  assert.deepEqual(fs.readdirSync(path.dirname(secret)), ["secret.txt"]);
  assert.ok(exists(store), "the root is still there");
});

/** Root ignores permissions, but not the immutable flag; others are stopped by a read-only folder. */
function lockAgainstDeletion(file: string): (() => void) | undefined {
  try {
    if (process.getuid?.() !== 0) {
      fs.chmodSync(path.dirname(file), 0o555);
      return () => fs.chmodSync(path.dirname(file), 0o755);
    }
    execFileSync("chattr", ["+i", file], { stdio: "ignore" });
    return () => execFileSync("chattr", ["-i", file], { stdio: "ignore" });
  } catch {
    return undefined;
  }
}
