/**
 * A private Redis for bench/peers.ts that keeps its data as the other two servers do: an
 * append-only file fsynced before each write is answered (`appendonly yes`, `appendfsync
 * always`), the counterpart of MariaDB's innodb_flush_log_at_trx_commit=1 and PostgreSQL's
 * synchronous_commit=on. The machine's own Redis keeps nothing on disk, so a BullMQ figure
 * measured on it alone is not like for like. Started from Debian's redis-server on a free
 * loopback port, in a temporary folder, and stopped (folder removed) by `stop()`.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../test/helpers/private-mariadb.js";

export interface DurableRedis {
  url: string;
  stop(): Promise<void>;
}

/** The running server, or why there is none (no redis-server, or it did not start). */
export async function startDurableRedis(): Promise<DurableRedis | string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oj-redis-aof-"));
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always"];
  const server = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  server.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  server.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  let timer: NodeJS.Timeout | undefined;
  const ready = await new Promise<string | undefined>((resolve) => {
    timer = setTimeout(() => resolve(`redis-server did not say it was ready within 10 s: ${output.trim().slice(-300)}`), 10_000);
    server.once("error", (error) => resolve(`redis-server could not be started (${error.message}; Debian's package redis-server has it)`));
    server.once("exit", (code) => resolve(`redis-server exited ${code}: ${output.trim().slice(-300)}`));
    server.stdout.on("data", () => {
      if (/Ready to accept connections/.test(output)) resolve(undefined);
    });
  });
  clearTimeout(timer);
  const stop = async () => {
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  if (ready) {
    await stop();
    return ready;
  }
  return { url: `redis://127.0.0.1:${port}`, stop };
}
