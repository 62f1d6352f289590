import fs from "node:fs";
import path from "node:path";
import { childEnvironment, childLimits, fileHit, type LimitHit, limitedArgv, limitInMessage, memoryHit } from "./child-sandbox.js";
import { MissingPrlimitError } from "../errors.js";
import { findExecutable } from "../find-executable.js";
import type { ExecOptions, JobLogger, SubprocessResult } from "./handler.js";

/** Seconds between SIGTERM and SIGKILL when a job's processes are stopped. */
export const KILL_GRACE_MS = 3000;
/** Most stdout a caller can capture. */
const MAX_CAPTURE = 1024 * 1024;

/**
 * Runs argv without a shell in a process group of its own, so that a timeout or a cancel
 * kills the whole tree (a shell script's children too), not just the first process: SIGTERM
 * to the group, SIGKILL after a grace period. When the leader exits, whatever it left behind
 * in its group is killed as well: a job's processes do not outlive the job. stdout and stderr
 * go to the job's log as they arrive. The child gets an allow-listed environment and starts
 * under the configured memory and file-size limits (child-sandbox.ts); `outputLimit` also
 * bounds its stdout, and the result's `limit` says which bound stopped it.
 */
export async function runSubprocess(
  argv: string[],
  /** `onSpawn`: the new group's leader pid, at once (recorded so that a later attempt can end an orphaned group). */
  options: ExecOptions & { signal: AbortSignal; log: JobLogger; onSpawn?: (pid: number) => void },
): Promise<SubprocessResult> {
  const program = argv[0];
  if (!program) throw new Error("empty argv");
  const limits = childLimits(options.outputLimit?.bytes);
  let limited: string[];
  try {
    limited = limitedArgv([locate(program, options.cwd), ...argv.slice(1)], limits);
  } catch (error) {
    if (!(error instanceof CannotStart) && !(error instanceof MissingPrlimitError)) throw error;
    options.log.error(`could not start: ${error.message}`);
    return { exitCode: null, signal: null, timedOut: false, cancelled: false, startError: error.message };
  }
  const [file, ...args] = limited as [string, ...string[]];
  // Loaded on first use: an empty cron run never pays for execa's start-up.
  const { execa } = await import("execa");
  const child = execa(file, args, {
    cwd: options.cwd,
    env: childEnvironment(options.env),
    extendEnv: false,
    detached: process.platform !== "win32",
    stdin: "ignore",
    buffer: false,
    reject: false,
    windowsHide: true,
  });
  if (child.pid) options.onSpawn?.(child.pid);
  let captured = "";
  let printed = 0;
  let limit: LimitHit | undefined;
  let reported: "memory" | "output" | undefined;
  child.stdout?.setEncoding("utf8").on("data", (text: string) => {
    printed += Buffer.byteLength(text);
    if (options.outputLimit && printed > options.outputLimit.bytes && !limit) {
      limit = fileHit(limits, options.outputLimit.setting);
      stop();
    }
    if (!options.captureStdout) options.log.output("stdout", text);
    else if (captured.length < MAX_CAPTURE) captured += text.slice(0, MAX_CAPTURE - captured.length);
  });
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    reported ??= limitInMessage(text);
    options.log.output("stderr", text);
  });

  let timedOut = false;
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    signalGroup(child.pid, "SIGTERM");
    killTimer ??= setTimeout(() => signalGroup(child.pid, "SIGKILL"), KILL_GRACE_MS);
  };
  const timeout = options.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs)
    : undefined;
  const onAbort = () => {
    cancelled = true;
    stop();
  };
  if (options.signal.aborted) onAbort();
  else options.signal.addEventListener("abort", onAbort, { once: true });
  child.on("exit", () => signalGroup(child.pid, "SIGKILL"));

  try {
    const result = await child;
    if (result.failed && result.exitCode === undefined && !result.signal) {
      // Could not start at all (ENOENT, EACCES): say so plainly.
      const code = (result.cause as NodeJS.ErrnoException | undefined)?.code;
      const startError = code === "ENOENT" ? `${program} was not found` : code === "EACCES" ? `${program} is not executable` : result.shortMessage;
      options.log.error(`could not start: ${startError}`);
      return { exitCode: null, signal: null, timedOut, cancelled, startError };
    }
    const failed = result.exitCode !== 0;
    if (!limit && failed && limits.fileBytes > 0 && (result.signal === "SIGXFSZ" || reported === "output"))
      limit = fileHit(limits, options.outputLimit?.setting);
    if (!limit && failed && limits.memoryBytes > 0 && reported === "memory") limit = memoryHit(limits);
    return {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      timedOut,
      cancelled,
      ...(options.captureStdout ? { stdout: captured } : {}),
      ...(limit ? { limit } : {}),
    };
  } finally {
    clearTimeout(timeout);
    clearTimeout(killTimer);
    options.signal.removeEventListener("abort", onAbort);
  }
}

class CannotStart extends Error {}

/**
 * The program's path, found as the kernel would (PATH, or relative to cwd): prlimit starts it,
 * so a missing program would otherwise only show as prlimit's exit code 127.
 */
function locate(program: string, cwd: string | undefined): string {
  // Checked first: spawn reports a missing cwd as ENOENT, which reads as a missing program.
  if (cwd !== undefined && !isFolder(cwd)) throw new CannotStart(`its working folder ${cwd} (the template's cwd) does not exist or is not a folder`);
  const name = cwd && program.includes("/") ? path.resolve(cwd, program) : program;
  const found = findExecutable(name);
  if (found) return found;
  throw new CannotStart(program.includes("/") && fs.existsSync(name) ? `${program} is not executable` : `${program} was not found`);
}

function isFolder(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    if (process.platform === "win32") process.kill(pid, signal);
    else process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
