import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root (tests run from dist/test/helpers). */
export const ROOT = path.resolve(here, "../../..");
export const BIN = path.join(ROOT, "bin/offline-jobs");
/** The compiled test handlers (`record`), for configs' `handlers`. */
export const RECORD_HANDLER = path.join(ROOT, "dist/test/fixtures/record-handler.js");

/** The non-empty lines of a trace file the `record` handler appends to (its runs, or its peaks); none before the first. */
export function linesOf(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

/** Every folder makeTempDir made in this process, removed when it exits, whatever the test forgot. */
const tempDirs: string[] = [];

export function makeTempDir(prefix = "oj-test-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (tempDirs.push(dir) === 1) process.once("exit", removeTempDirs);
  return dir;
}

function removeTempDirs(): void {
  for (const dir of tempDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // A folder a test made read-only, or one still in use by a child: nothing more to do here.
    }
  }
}

/** Writes a config file into `dir`, private as a config holding secrets should be (mode 600), and returns its path. */
export function writeConfig(dir: string, config: Record<string, unknown>, name = "config.json"): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  fs.chmodSync(file, 0o600); // an existing file keeps its mode through writeFileSync
  return file;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `offline-jobs ARGS` as a real process (not a shell), in its own process group. */
export function startCli(args: string[], options: { config?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.OFFLINE_JOBS_DATABASE_URL;
  if (options.config) env.OFFLINE_JOBS_CONFIG = options.config;
  return spawn(process.execPath, [BIN, ...args], { env, cwd: options.cwd ?? ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
}

/** What a running child has written to stderr so far, read when called (for the message of a wait that timed out). */
export function stderrSoFar(child: ChildProcess): () => string {
  let text = "";
  child.stderr?.on("data", (chunk) => (text += chunk));
  return () => text;
}

/** Runs `offline-jobs ARGS` to the end and collects its output. */
export function runCli(args: string[], options: { config?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = startCli(args, options);
  return collect(child, options.timeoutMs ?? 120_000);
}

export function collect(child: ChildProcess, timeoutMs = 120_000): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killTree(child, "SIGKILL");
      reject(new Error(`offline-jobs did not finish within ${timeoutMs} ms; stderr so far:\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Kills a process started by startCli together with everything it started. */
export function killTree(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a truthy value or the time is up. */
export async function waitFor<T>(check: () => Promise<T> | T, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Whether a process exists (a zombie counts: reap a child before asking about it). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
