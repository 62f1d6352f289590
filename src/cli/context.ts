import path from "node:path";
import { z } from "zod";
import { configuredUrls } from "../config/database-url.js";
import { loadConfig } from "../config/load-config.js";
import type { Config } from "../config/schema.js";
import { FatalError, UsageError } from "../errors.js";
import { loadRegistry, type Registry } from "../handlers/registry.js";
import { createLogger, type Logger } from "../logger.js";
import { openDatabase, type Database } from "../queue/db.js";
import { checkSchema } from "../queue/migrations.js";
import { stderrStatusLine, type StatusLine } from "./status-line.js";

/** Options every command takes (set on the program, read with optsWithGlobals()). */
export interface GlobalOptions {
  config?: string;
  quiet?: boolean;
  verbose?: boolean;
  logFormat?: string;
}

export interface CommandContext {
  config: Config;
  logger: Logger;
  db: Database;
  registry: Registry;
  close(): Promise<void>;
}

/** Validates a command's options with zod; a mismatch is a usage error (exit 2). */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = issue.path.length ? `--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : "arguments";
    throw new UsageError(`${name}: ${issue.message}`);
  }
  return parsed.data;
}

export function makeLogger(options: GlobalOptions): Logger {
  const format = options.logFormat;
  if (format !== undefined && format !== "human" && format !== "json") throw new UsageError(`--log-format: must be human or json`);
  // On a terminal, log lines go through the status line so that a progress display stays below them.
  const stream = statusLineFor(options) ?? process.stderr;
  return createLogger({ format, stream, verbosity: options.quiet ? "quiet" : options.verbose ? "verbose" : "normal" });
}

/** The terminal's status line, for progress: only with human output on a terminal, and not with --quiet. */
export function statusLineFor(options: GlobalOptions): StatusLine | undefined {
  if (options.quiet || options.logFormat === "json") return undefined;
  return stderrStatusLine;
}

/** The config a command's options name; its warnings (a readable secret) go to the command's log. */
export function loadCommandConfig(options: GlobalOptions, logger: Logger): Config {
  return loadConfig({ configPath: options.config, warn: (message) => logger.warn(message) });
}

/**
 * The config's database URLs (one, or a cluster's nodes), or an error that says where it was looked for: with no config
 * file found, "no database configured" alone leaves a new operator guessing which file.
 */
export function databaseUrls(config: Config, cwd = process.cwd()): string[] {
  const urls = configuredUrls(config.database);
  if (urls.length > 0) return urls;
  const where = config.configPath
    ? `the config ${config.configPath} sets no database.url`
    : `no config file was found (looked for --config, $OFFLINE_JOBS_CONFIG, then ${path.join(cwd, "config.json")})`;
  throw new FatalError(`no database configured: ${where}, and OFFLINE_JOBS_DATABASE_URL is not set`);
}

/**
 * Config, logger, database (schema checked unless `skipSchemaCheck`) and handlers, for a command.
 * `lazyHandlers`: the built-in handlers' modules load when a job needs them (run, work).
 * `readsFollowWrites`: the command reads what it or another command just wrote, possibly
 * through another node of a cluster (openDatabase).
 */
export async function openContext(
  options: GlobalOptions,
  { skipSchemaCheck = false, lazyHandlers = false, readsFollowWrites = false } = {},
): Promise<CommandContext> {
  const logger = makeLogger(options);
  const config = loadCommandConfig(options, logger);
  const db = openDatabase(databaseUrls(config), config.database.table, config.database.poolSize, {
    readsFollowWrites,
    onNodeChange: (line) => logger.warn(line),
  });
  try {
    if (!skipSchemaCheck) await checkSchema(db);
    const registry = await loadRegistry(config, { lazy: lazyHandlers });
    return { config, logger, db, registry, close: () => db.close() };
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

/** Runs `body` with a context and always closes the pool, so the process can exit. */
export async function withContext<T>(
  options: GlobalOptions,
  body: (context: CommandContext) => Promise<T>,
  settings: Parameters<typeof openContext>[1] = {},
): Promise<T> {
  const context = await openContext(options, settings);
  try {
    return await body(context);
  } finally {
    await context.close().catch(() => undefined);
  }
}

/**
 * withContext for a command that reads what was just written, perhaps through another node of
 * a cluster: `add --wait` (the job's end, written where a worker runs it), `cancel` and `show`
 * (a job added a moment ago). On a Galera node their sessions wait for the cluster's earlier
 * commits before each read (openDatabase's readsFollowWrites).
 */
export function withContextAfterWrites<T>(options: GlobalOptions, body: (context: CommandContext) => Promise<T>): Promise<T> {
  return withContext(options, body, { readsFollowWrites: true });
}

/** Commander collects repeatable options with this. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export const positiveIntString = z.string().regex(/^\d+$/, "must be a whole number").transform(Number).pipe(z.number().int().min(1, "must be at least 1"));
