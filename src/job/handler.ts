import type { Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import type { z } from "zod";
import type { LimitHit } from "./child-sandbox.js";
import type { Config } from "../config/schema.js";

/** Defaults a handler declares; `types.<name>` in the config overrides each. */
export interface HandlerDefaults {
  timeoutSeconds?: number;
  maxAttempts?: number;
  concurrency?: number;
  /** What a lost lease means: "retry" (at-least-once, the default) or "fail" (never repeat side effects). */
  onLost?: "retry" | "fail";
}

export interface JobLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Raw subprocess output, kept as the tail of the job's log. */
  output(stream: "stdout" | "stderr", text: string): void;
}

export interface SubprocessResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  cancelled: boolean;
  /** Set when the program could not be started at all (not found, not executable). */
  startError?: string;
  /** With captureStdout. */
  stdout?: string;
  /** Set when a memory or output limit stopped it (src/child-sandbox.ts). */
  limit?: LimitHit;
}

export interface ExecOptions {
  timeoutMs?: number;
  cwd?: string;
  /** Return stdout (up to 1 MiB) instead of writing it to the job's log. */
  captureStdout?: boolean;
  /** Variables of the runner's environment it gets besides the allow-listed ones. */
  env?: readonly string[];
  /** Its own bound on what it writes (stdout and any file) instead of subprocesses.fileMiB, and the setting that set it. */
  outputLimit?: { bytes: number; setting: string };
}

/** What a handler gets besides its data. */
export interface JobContext {
  ref: number;
  type: string;
  user: string | null;
  attempt: number;
  maxAttempts: number;
  /** Aborted on timeout, cancel, lost lease or shutdown; pass it to everything that can wait. */
  signal: AbortSignal;
  log: JobLogger;
  /** 0–100; stored on the row with the next heartbeat. */
  progress(percent: number): void;
  config: Config;
  paths: {
    /** Resolves (symlinks too) and requires the path under paths.readRoots; else PermanentError. */
    readable(p: string): Promise<string>;
    /** Same for outputs, under paths.writeRoots; the file itself need not exist. */
    writable(p: string): Promise<string>;
    /**
     * Opens a path readable() returned and checks that the opened file itself still lies under
     * paths.readRoots (a folder swapped for a symlink since the check is refused with a
     * PermanentError); undefined when it is gone or no longer a regular file.
     */
    open(resolved: string): Promise<{ handle: FileHandle; stat: Stats } | undefined>;
    /**
     * Runs `use` with a path that reaches the file readable() checked, opened and checked again
     * now (on Linux /proc/<pid>/fd/<n>): for sources handed to sharp, ffmpeg or pdftotext, which
     * open them by name later. The file is closed when `use` settles; messages get the source's name.
     */
    withSource<T>(resolved: string, use: (readPath: string) => Promise<T>): Promise<T>;
    /**
     * For deletion, under paths.writeRoots: the parent is resolved (symlinks too), the last
     * component is not followed (a symlink is itself the thing deleted); never a root itself.
     */
    deletable(p: string): Promise<string>;
  };
  /** Runs argv (no shell) in its own process group, killed whole at timeout and on abort. */
  exec(argv: string[], options?: ExecOptions): Promise<SubprocessResult>;
  /**
   * Runs extractText.sink.sql with these values as its named parameters; undefined when the
   * config has no sink. Returns the rows affected.
   */
  writeTextSink?(values: { text: string; resource: string | number | null; field: string | number | null }): Promise<number>;
}

export type JobResult = Record<string, unknown>;

export interface Handler<Data = unknown> {
  name: string;
  description: string;
  schema: z.ZodType<Data>;
  defaults: HandlerDefaults;
  /**
   * A time limit this particular job sets for itself (a command template's timeoutSeconds).
   * When given, the runner's own timeout for the job is this plus a margin, instead of the
   * type's timeoutSeconds, so that the handler's more precise message wins.
   */
  jobTimeoutSeconds?(data: Data, config: Config): number | undefined;
  run(context: JobContext, data: Data): Promise<JobResult | void>;
}

/** Declares a job type; `data` is typed from the schema. */
export function defineHandler<S extends z.ZodType>(handler: {
  name: string;
  description: string;
  schema: S;
  defaults?: HandlerDefaults;
  jobTimeoutSeconds?(data: z.infer<S>, config: Config): number | undefined;
  run(context: JobContext, data: z.infer<S>): Promise<JobResult | void>;
}): Handler<z.infer<S>> {
  return { defaults: {}, ...handler } as Handler<z.infer<S>>;
}
