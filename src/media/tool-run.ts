import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import { constants } from "node:fs";
import { childEnvironment, childLimits, fileHit, type LimitHit, limitedArgv, limitInMessage, memoryHit } from "../job/child-sandbox.js";
import { MissingPrlimitError } from "../errors.js";
import { PermanentError } from "../errors.js";

/**
 * Running ffmpeg or ffprobe on one source file: the file is opened here and handed to the
 * child as file descriptor 3, which it reads as /dev/fd/3. So the child reads the file that
 * was checked against the roots, and nothing else can be reached through its name: no image2
 * pattern ("a%d.png" expanding to a1.png, a2.png…) and no relative path from a playlist
 * resolving beside it. The child runs with the allow-listed environment and under the
 * configured limits (child-sandbox.ts); an abort kills it with SIGKILL (it has no children).
 */

/** The source as the child's input URL (fd 3 is the opened file; "file:" keeps it a plain file). */
export const INPUT_URL = "file:/dev/fd/3";

export interface ToolRun {
  /** The executable (already found). */
  binary: string;
  args: string[];
  /** The source file, opened and passed as fd 3. */
  file: string;
  signal?: AbortSignal;
  /** Most stdout kept; more is an error (a hostile file that makes ffprobe print without end). */
  maxStdout?: number;
  /** Each line of stdout, instead of keeping it. */
  onStdoutLine?: (line: string) => void;
}

export interface ToolOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** The last lines of stderr. */
  stderr: string[];
  /** A memory or file-size limit that stopped it. */
  limit?: LimitHit;
  /** stdout passed maxStdout; the child was killed. */
  overflow?: boolean;
  /** spawn failed: ENOENT, EACCES. */
  startError?: NodeJS.ErrnoException;
}

const STDERR_LINES = 100;

/** Opens the source for reading, refusing anything but a regular file (a FIFO would block ffmpeg for ever). */
async function openSource(file: string): Promise<fs.FileHandle> {
  let handle: fs.FileHandle;
  try {
    // A descriptor path (/proc/<pid>/fd/N, from the path guard's withSource) is a link by
    // design: the kernel resolves it to the very file that was opened and checked.
    const pinned = /^\/proc\/\d+\/fd\/\d+$/.test(file);
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK | (pinned ? 0 : constants.O_NOFOLLOW));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new PermanentError("source file not found");
    if (code === "EACCES" || code === "EPERM") throw new PermanentError("source file is not readable (permission denied)");
    if (code === "ELOOP") throw new PermanentError("source file is a symbolic link (it was replaced after it was checked)");
    throw error;
  }
  const stat = await handle.stat();
  if (!stat.isFile()) {
    await handle.close();
    throw new PermanentError(stat.isDirectory() ? "source is a directory" : "source is not a regular file");
  }
  return handle;
}

export async function runTool(run: ToolRun): Promise<ToolOutcome> {
  run.signal?.throwIfAborted();
  const handle = await openSource(run.file);
  try {
    const limits = childLimits();
    let argv: string[];
    try {
      argv = limitedArgv([run.binary, ...run.args], limits);
    } catch (error) {
      if (error instanceof MissingPrlimitError) throw new PermanentError(error.message);
      throw error;
    }
    const [command, ...args] = argv as [string, ...string[]];
    return await new Promise<ToolOutcome>((resolve, reject) => {
      const { signal } = run;
      if (signal?.aborted) return reject(signal.reason);
      const child = spawn(command, args, { env: childEnvironment(), stdio: ["ignore", "pipe", "pipe", handle.fd], windowsHide: true });
      const stderr: string[] = [];
      let stdout = "";
      let overflow = false;
      let reported: "memory" | "output" | undefined;
      let startError: NodeJS.ErrnoException | undefined;
      const kill = () => child.kill("SIGKILL");
      signal?.addEventListener("abort", kill, { once: true });

      let partial = "";
      child.stdout!.setEncoding("utf8").on("data", (text: string) => {
        if (run.onStdoutLine) {
          const lines = (partial + text).split("\n");
          partial = lines.pop() ?? "";
          for (const line of lines) run.onStdoutLine(line.trimEnd());
          return;
        }
        stdout += text;
        if (run.maxStdout !== undefined && stdout.length > run.maxStdout && !overflow) {
          overflow = true;
          kill();
        }
      });
      let pending = "";
      child.stderr!.setEncoding("utf8").on("data", (text: string) => {
        const lines = (pending + text).split(/\r\n|\r|\n/);
        pending = lines.pop() ?? "";
        for (const line of lines) {
          if (line.trim() === "") continue;
          reported ??= limitInMessage(line);
          stderr.push(line.trimEnd());
          if (stderr.length > STDERR_LINES) stderr.shift();
        }
      });
      let settled = false;
      child.on("error", (error: NodeJS.ErrnoException) => {
        startError = error;
        // Never started: no 'close' is sure to follow.
        if (child.pid === undefined && !settled) {
          settled = true;
          signal?.removeEventListener("abort", kill);
          resolve({ exitCode: null, signal: null, stdout: "", stderr, startError: error });
        }
      });
      child.on("close", (exitCode, exitSignal) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", kill);
        if (signal?.aborted) return reject(signal.reason);
        if (pending.trim()) stderr.push(pending.trimEnd());
        const failed = exitCode !== 0;
        let limit: LimitHit | undefined;
        if (failed && limits.fileBytes > 0 && (exitSignal === "SIGXFSZ" || reported === "output")) limit = fileHit(limits);
        else if (failed && limits.memoryBytes > 0 && reported === "memory") limit = memoryHit(limits);
        resolve({
          exitCode,
          signal: exitSignal,
          stdout,
          stderr,
          ...(limit ? { limit } : {}),
          ...(overflow ? { overflow } : {}),
          ...(startError ? { startError } : {}),
        });
      });
    });
  } finally {
    await handle.close();
  }
}
