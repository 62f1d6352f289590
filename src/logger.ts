/**
 * The process's own log (not a job's log): human lines on a terminal, JSON lines otherwise
 * or with --log-format json. Everything goes to stderr so that stdout carries only what
 * scripts read (a ref from `add`, `--json` output).
 */
import { terminalJson, terminalText } from "./quote.js";

export type LogFormat = "human" | "json";
export type Verbosity = "quiet" | "normal" | "verbose";
export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
  /** Whether a message at this level is written: a caller can skip building one that is not. */
  enabled(level: Level): boolean;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const THRESHOLD: Record<Verbosity, number> = { verbose: 10, normal: 20, quiet: 40 };

export function createLogger(options: { format?: LogFormat; verbosity?: Verbosity; stream?: { write(text: string): unknown; isTTY?: boolean } } = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const format = options.format ?? (stream.isTTY ? "human" : "json");
  const threshold = THRESHOLD[options.verbosity ?? "normal"];
  const write = (level: Level, message: string, fields?: Record<string, unknown>) => {
    if (RANK[level] < threshold) return;
    if (format === "json") {
      stream.write(`${terminalJson({ time: new Date().toISOString(), level, msg: message, pid: process.pid, ...fields })}\n`);
    } else {
      const time = new Date().toISOString().slice(11, 19);
      const tag = level === "info" ? "" : `${level}: `;
      // Messages carry job types, users and errors from rows: nothing in them may drive the terminal.
      stream.write(`${time} ${tag}${terminalText(message)}\n`);
    }
  };
  return {
    enabled: (level) => RANK[level] >= threshold,
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}

/** A logger that drops everything (library use, tests). */
export const silentLogger: Logger = { enabled: () => false, debug() {}, info() {}, warn() {}, error() {} };
