import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { FatalError } from "../errors.js";
import { createLogger } from "../logger.js";
import { jsonSyntaxProblem } from "../quote.js";
import { didYouMean } from "../suggest.js";
import { placementProblems } from "./config-placement.js";
import { configuredUrls, databaseUrlProblem } from "./database-url.js";
import { warnIfSecretsReadable, writableByOthers } from "./file-permissions.js";
import { keysAt } from "./schema-keys.js";
import { configSchema, type Config } from "./schema.js";
import { declarationWarning } from "./template-declarations.js";

export interface LoadConfigOptions {
  /** --config; else OFFLINE_JOBS_CONFIG; else ./config.json if it exists; else defaults only. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Where the warnings go (a config file that holds the database password or another secret
   * and is readable by others; a command template that does not declare its placeholders);
   * by default a process-log line on stderr.
   */
  warn?: (message: string) => void;
}

/**
 * Reads, validates and completes the config. Every problem becomes a FatalError whose
 * message names the key and what is wrong, in one line, and never contains the password.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.configPath ?? env.OFFLINE_JOBS_CONFIG;
  let configPath: string | undefined;
  let raw: unknown = {};
  if (explicit) {
    configPath = path.resolve(cwd, explicit);
  } else if (fs.existsSync(path.join(cwd, "config.json"))) {
    configPath = path.join(cwd, "config.json");
  }
  const warn = options.warn ?? ((message: string) => createLogger().warn(message));
  if (configPath) {
    const writable = writableByOthers(configPath);
    if (writable) throw new FatalError(writable);
    raw = readJsonFile(configPath);
    warnIfSecretsReadable(configPath, raw, warn);
  }
  const config = parseConfig(raw, { configPath, env });
  warnOnce([...placementProblems(config), ...undeclaredPlaceholderWarnings(config), ...clusterLeaseWarning(config)], warn);
  return config;
}

/**
 * The shortest lease that lets the runs on a cluster's healthy nodes ride out its pause while it
 * evicts a failed node: no commit completes anywhere meanwhile, renewals included (about 6.5 s
 * with Galera's evs.suspect_timeout of 5 s, measured on the loopback cluster), and a run stops
 * the jobs it could not renew a sixth of a lease before the lease ends (at most 5 s before).
 * 15 s leaves 12.5 s, twice the pause, to a renewal sent just before it began.
 */
export const CLUSTER_MIN_LEASE_SECONDS = 15;

function clusterLeaseWarning(config: Config): string[] {
  if (configuredUrls(config.database).length < 2 || config.leaseSeconds >= CLUSTER_MIN_LEASE_SECONDS) return [];
  return [
    `config${config.configPath ? ` ${config.configPath}` : ""}: leaseSeconds ${config.leaseSeconds} is too short for a cluster: while it evicts a failed node (about 6.5 s on Galera's defaults) no lease can be renewed, and the runs on the healthy nodes would stop their jobs; use ${CLUSTER_MIN_LEASE_SECONDS} or more`,
  ];
}

/** Old-style command templates load as before, read the safe way; this says what to declare. */
function undeclaredPlaceholderWarnings(config: Config): string[] {
  return Object.entries(config.commands).flatMap(([name, template]) => {
    const message = declarationWarning(name, template);
    return message ? [`config${config.configPath ? ` ${config.configPath}` : ""}: ${message}`] : [];
  });
}

/** Warnings already given: once per process, however often the config is read (enqueue() in a loop). */
const warned = new Set<string>();

function warnOnce(problems: string[], warn: (message: string) => void): void {
  for (const problem of problems) {
    if (warned.has(problem)) continue;
    warned.add(problem);
    warn(problem);
  }
}

export function parseConfig(raw: unknown, where: { configPath?: string; env?: NodeJS.ProcessEnv } = {}): Config {
  const env = where.env ?? process.env;
  const parsed = configSchema.safeParse(withoutComments(raw));
  const source = where.configPath ? `config ${where.configPath}` : "config";
  if (!parsed.success) throw new FatalError(`${source}: ${describeIssue(parsed.error.issues[0])}`);
  const config: Config = { ...parsed.data, configPath: where.configPath };
  if (config.database.url !== undefined && config.database.urls?.length && !env.OFFLINE_JOBS_DATABASE_URL) {
    throw new FatalError(`${source}: database.url and database.urls are both set; keep one (urls lists the nodes of a cluster)`);
  }
  // The variable replaces whatever the file names, one server or a cluster's list.
  if (env.OFFLINE_JOBS_DATABASE_URL) config.database = { ...config.database, url: env.OFFLINE_JOBS_DATABASE_URL, urls: undefined };
  if (config.database.url) {
    const key = env.OFFLINE_JOBS_DATABASE_URL ? "OFFLINE_JOBS_DATABASE_URL" : `${source}: database.url`;
    const problem = databaseUrlProblem(config.database.url, key);
    if (problem) throw new FatalError(problem);
  }
  for (const [i, url] of (config.database.urls ?? []).entries()) {
    const problem = databaseUrlProblem(url, `${source}: database.urls[${i}]`);
    if (problem) throw new FatalError(problem);
  }
  resolvePaths(config, where.configPath ? path.dirname(where.configPath) : process.cwd());
  return config;
}

/** Keys starting with "//" are comments (JSON has none), as in config.example.json. */
function withoutComments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutComments);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !key.startsWith("//"))
      .map(([key, inner]) => [key, withoutComments(inner)]),
  );
}

function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FatalError(`config ${file}: cannot be read (${code === "ENOENT" ? "no such file" : (code ?? "error")})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // Not V8's own message: it quotes a piece of the text, which could be the password.
    throw new FatalError(`config ${file}: is not valid JSON (${jsonSyntaxProblem((error as Error).message, text)})`);
  }
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return "is invalid";
  const key = issue.path.length ? issue.path.map(String).join(".") : "(top level)";
  if (issue.code === "unrecognized_keys") {
    const prefix = issue.path.length ? `${key}.` : "";
    const known = keysAt(configSchema, issue.path);
    return `unknown key ${issue.keys.map((k) => `"${prefix}${k}"${didYouMean(k, known)}`).join(", ")}`;
  }
  // Never echo the received value: it could be the database URL with its password.
  return `${key}: ${issue.message}`;
}

/** Paths in the config are relative to the config file, so a config can be moved with its tree. */
function resolvePaths(config: Config, base: string): void {
  const abs = (p: string) => path.resolve(base, p);
  config.lockDir = abs(config.lockDir);
  config.paths.readRoots = config.paths.readRoots.map(abs);
  config.paths.writeRoots = config.paths.writeRoots.map(abs);
  if (config.downloads.dir) config.downloads.dir = abs(config.downloads.dir);
  if (config.previews.outputDir) config.previews.outputDir = abs(config.previews.outputDir);
  config.handlers = config.handlers.map((h) => (h.startsWith(".") || path.isAbsolute(h) ? abs(h) : h));
  for (const template of Object.values(config.commands)) if (template.cwd) template.cwd = abs(template.cwd);
  if (typeof config.maintenance === "string") config.maintenance = abs(config.maintenance);
}
