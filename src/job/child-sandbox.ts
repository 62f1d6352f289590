import { findExecutable } from "../find-executable.js";
import { MissingPrlimitError } from "../errors.js";

/**
 * What every subprocess runs under (SECURITY.md, "Subprocesses"): an environment built from
 * an allow-list, never the runner's own (which holds the database URL and whatever secrets
 * the service manager put there), and resource limits set by prlimit (util-linux) before the
 * program starts, so that a hostile input cannot make one child take the machine's memory or
 * fill its disk. Used by src/job/subprocess.ts (command templates, poppler) and by
 * src/media (ffmpeg, ffprobe).
 */

/** Variables a child gets when the runner has them: finding programs, the locale, temporaries. */
const BASE_ENVIRONMENT = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];

/** The allow-listed environment, plus the variables `extra` names (a command template's `env`). */
export function childEnvironment(extra: readonly string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of [...BASE_ENVIRONMENT, ...extra]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** The config's `subprocesses` section: limits per process, in MiB; 0 means none. */
export interface SubprocessLimits {
  memoryMiB: number;
  fileMiB: number;
}

/** The schema's defaults, for media functions called outside a job (tests, benchmarks). */
let current: SubprocessLimits = { memoryMiB: 2048, fileMiB: 16_384 };

/**
 * The limits every subprocess starts under. ffmpeg and ffprobe are spawned by media functions
 * that do not see the config, and the config is one per process, so the runner sets them
 * from it before each job (execute-job.ts).
 */
export function useSubprocessLimits(limits: SubprocessLimits): void {
  current = { memoryMiB: limits.memoryMiB, fileMiB: limits.fileMiB };
}

/** A limit that was passed, for the one sentence that says which: its size and the setting that set it. */
export interface LimitHit {
  what: "memory" | "output";
  bytes: number;
  setting: string;
}

/** RLIMIT_FSIZE and RLIMIT_DATA in bytes for one child; 0 means none. */
export interface ChildLimits {
  memoryBytes: number;
  fileBytes: number;
}

/** The configured limits in bytes, with `fileBytes` overridden when given (a tool with its own output bound). */
export function childLimits(fileBytes?: number): ChildLimits {
  return { memoryBytes: current.memoryMiB * MiB, fileBytes: fileBytes ?? current.fileMiB * MiB };
}

export const MiB = 1024 * 1024;

/**
 * `argv` prefixed with prlimit so that the program starts under the limits: RLIMIT_DATA for
 * memory (the heap and private writable mappings, which is what an allocation bomb grows;
 * unlike RLIMIT_AS it does not count the address space glibc and thread stacks only reserve)
 * and RLIMIT_FSIZE for the largest file it may write. prlimit sets them on itself and then
 * execs the program, so the pid is the program's. Throws MissingPrlimitError when a limit is
 * set and prlimit cannot be found: a child is not run without the bounds the config asked for.
 */
export function limitedArgv(argv: string[], limits: ChildLimits): string[] {
  const options: string[] = [];
  if (limits.memoryBytes > 0) options.push(`--data=${Math.floor(limits.memoryBytes)}`);
  if (limits.fileBytes > 0) options.push(`--fsize=${Math.floor(limits.fileBytes)}`);
  if (options.length === 0) return argv;
  prlimit ??= findExecutable("prlimit") ?? findExecutable("/usr/bin/prlimit") ?? null;
  if (!prlimit) throw new MissingPrlimitError("prlimit (util-linux) is not installed; it enforces the subprocesses limits of the config");
  return [prlimit, ...options, "--", ...argv];
}

let prlimit: string | null | undefined;

/**
 * Which limit a failed child's stderr says it ran into: allocation failures print one of the
 * first (ffmpeg's ENOMEM, C++'s bad_alloc in poppler, Python, Perl, glibc); a shell reports a
 * child killed by SIGXFSZ with the second.
 */
export function limitInMessage(stderr: string): "memory" | "output" | undefined {
  if (/Cannot allocate memory|std::bad_alloc|out of memory|memory exhausted|MemoryError|failed to allocate/i.test(stderr)) return "memory";
  if (/File size limit exceeded|File too large/i.test(stderr)) return "output";
  return undefined;
}

/** The memory limit, as LimitHit. */
export function memoryHit(limits: ChildLimits): LimitHit {
  return { what: "memory", bytes: limits.memoryBytes, setting: "subprocesses.memoryMiB" };
}

/** The file-size limit, as LimitHit; `setting` when a tool set its own. */
export function fileHit(limits: ChildLimits, setting = "subprocesses.fileMiB"): LimitHit {
  return { what: "output", bytes: limits.fileBytes, setting };
}

/** "ffmpeg stopped: it passed the 256 MiB memory limit (subprocesses.memoryMiB)" and its kin. */
export function limitSentence(tool: string, hit: LimitHit): string {
  const size = `${Math.round((hit.bytes / MiB) * 100) / 100} MiB`;
  if (hit.what === "memory") return `${tool} stopped: it passed the ${size} memory limit (${hit.setting})`;
  return `${tool} stopped: its output passed the ${size} limit (${hit.setting})`;
}
