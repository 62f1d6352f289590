import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { BIN, makeTempDir, runCli, writeConfig } from "../helpers/cli.js";
import { useTestDatabase } from "../helpers/database.js";
import { verifyPassword } from "../../src/web/identity/password.js";

/** `offline-jobs web` refuses to open an identity-less page to the network; `web-user` prints hashes and config lines, and changes no file. */

const database = useTestDatabase();

/** Runs `offline-jobs ARGS` with `input` on stdin (not a terminal). */
function withStdin(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

test("web with no identity configured refuses a non-loopback address, with the reason, and exits 1", async () => {
  const config = writeConfig(makeTempDir(), { database: { url: database.url } });
  const result = await runCli(["web", "--listen", "0.0.0.0:0"], { config, timeoutMs: 30_000 });
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /refusing to listen on 0\.0\.0\.0:0: no identity is configured/);
  const bad = await runCli(["web", "--listen", "nowhere"], { config, timeoutMs: 30_000 });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--listen: "nowhere" is not host:port/);
});

test("web-user hash reads the password from stdin and prints a hash that verifies; web-user add prints the config lines", async () => {
  const hashed = await withStdin(["web-user", "hash"], "correct horse battery\n");
  assert.equal(hashed.code, 0, hashed.stderr);
  const hash = hashed.stdout.trim();
  assert.match(hash, /^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  assert.equal(await verifyPassword("correct horse battery", hash), true);
  assert.equal(await verifyPassword("correct horse batter", hash), false);
  const added = await withStdin(["web-user", "add", "alice", "--role", "admin", "--role", "staff"], "correct horse battery");
  assert.equal(added.code, 0, added.stderr);
  const entry = JSON.parse(`{${added.stdout}}`) as Record<string, { passwordHash: string; roles: string[] }>;
  assert.deepEqual(Object.keys(entry), ["alice"]);
  assert.deepEqual(entry.alice!.roles, ["admin", "staff"]);
  assert.equal(await verifyPassword("correct horse battery", entry.alice!.passwordHash), true);
  const short = await withStdin(["web-user", "hash"], "short\n");
  assert.equal(short.code, 2);
  assert.match(short.stderr, /the password needs at least 8 characters/);
});
