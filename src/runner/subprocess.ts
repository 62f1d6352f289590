import type { ExecOptions, JobLogger, SubprocessResult } from "../handlers/handler.js";

/** Seconds between SIGTERM and SIGKILL when a job's processes are stopped. */
export const KILL_GRACE_MS = 3000;
/** Most stdout a caller can capture. */
const MAX_CAPTURE = 1024 * 1024;

/** Variables a job's subprocess must not inherit: the database URL carries the password. */
function childEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === "OFFLINE_JOBS_DATABASE_URL" || /PASSWORD|SECRET|TOKEN/i.test(key)) continue;
    env[key] = value;
  }
  return env;
}

/**
 * Runs argv without a shell in a process group of its own, so that a timeout or a cancel
 * kills the whole tree (a shell script's children too), not just the first process: SIGTERM
 * to the group, SIGKILL after a grace period. When the leader exits, whatever it left behind
 * in its group is killed as well: a job's processes do not outlive the job. stdout and stderr
 * go to the job's log as they arrive.
 */
export async function runSubprocess(
  argv: string[],
  /** `onSpawn`: the new group's leader pid, at once (recorded so that a later attempt can end an orphaned group). */
  options: ExecOptions & { signal: AbortSignal; log: JobLogger; onSpawn?: (pid: number) => void },
): Promise<SubprocessResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error("empty argv");
  // Loaded on first use: an empty cron run never pays for execa's start-up.
  const { execa } = await import("execa");
  const child = execa(file, args, {
    cwd: options.cwd,
    env: childEnvironment(),
    extendEnv: false,
    detached: process.platform !== "win32",
    stdin: "ignore",
    buffer: false,
    reject: false,
    windowsHide: true,
  });
  if (child.pid) options.onSpawn?.(child.pid);
  let captured = "";
  child.stdout?.setEncoding("utf8").on("data", (text: string) => {
    if (!options.captureStdout) options.log.output("stdout", text);
    else if (captured.length < MAX_CAPTURE) captured += text.slice(0, MAX_CAPTURE - captured.length);
  });
  child.stderr?.setEncoding("utf8").on("data", (text: string) => options.log.output("stderr", text));

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
      const startError = code === "ENOENT" ? `${file} was not found` : code === "EACCES" ? `${file} is not executable` : result.shortMessage;
      options.log.error(`could not start: ${startError}`);
      return { exitCode: null, signal: null, timedOut, cancelled, startError };
    }
    return { exitCode: result.exitCode ?? null, signal: result.signal ?? null, timedOut, cancelled, ...(options.captureStdout ? { stdout: captured } : {}) };
  } finally {
    clearTimeout(timeout);
    clearTimeout(killTimer);
    options.signal.removeEventListener("abort", onAbort);
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
