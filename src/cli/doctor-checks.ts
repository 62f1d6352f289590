import fs from "node:fs";
import path from "node:path";
import { loadConfig, parseConfig } from "../config/load-config.js";
import { redactUrl } from "../config/redact-url.js";
import { placementProblems } from "../config/config-placement.js";
import { secretsReadable } from "../config/file-permissions.js";
import type { Config } from "../config/schema.js";
import { errorMessage } from "../errors.js";
import { loadRegistry, type Registry } from "../handlers/registry.js";
import { configuredUrls } from "../config/database-url.js";
import { openDatabase, type Database } from "../queue/db.js";
import { checkSchema, checkServerVersion, SCHEMA_VERSION } from "../queue/migrations.js";
import { serverVersion } from "../queue/server-info.js";
import { exitCodeFor } from "./errors.js";
import type { CheckResult } from "./doctor-result.js";
import { checkCommandTemplates, checkTools } from "./doctor-tools.js";

/**
 * Every check of `doctor`, in order. None of them throws: a failure becomes a "fail" line and
 * the others still run (an unreachable database does not hide an unwritable lock folder).
 */
export async function runChecks(configPath: string | undefined): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let config: Config;
  try {
    // No warning from loading it: the config-access check below says the same, in its place.
    config = loadConfig({ configPath, warn: () => undefined });
    results.push({ name: "config", status: "ok", detail: config.configPath ?? "no config file: defaults and environment only" });
  } catch (error) {
    results.push({ name: "config", status: "fail", detail: errorMessage(error) });
    // Without a config nothing else can be checked honestly but the programs, with default needs.
    config = parseConfig({}, { env: {} });
    results.push(...(await checkTools(config, undefined)));
    return results;
  }
  results.push(checkConfigMode(config));
  results.push(checkPlacement(config));
  results.push(...(await checkDatabase(config)));
  let registry: Registry | undefined;
  try {
    registry = await loadRegistry(config);
    const disabled = registry.disabled();
    const off = disabled.length ? `; disabled on this host (types.<name>.enabled is false): ${disabled.join(", ")}` : "";
    results.push({ name: "handlers", status: "ok", detail: `${registry.names().length} job types: ${registry.names().join(", ")}${off}` });
  } catch (error) {
    results.push({ name: "handlers", status: "fail", detail: errorMessage(error) });
  }
  results.push(checkLockDir(config.lockDir));
  results.push(checkRoots("read-roots", config.paths.readRoots, "read"));
  results.push(checkRoots("write-roots", config.paths.writeRoots, "write"));
  results.push(checkDownloads(config));
  results.push(...(await checkTools(config, registry)));
  results.push(checkCommandTemplates(config));
  results.push(checkMetricsTextfile(config));
  return results;
}

/** The textfile is rewritten after each run through a temporary file beside it: its folder must take new files. */
function checkMetricsTextfile(config: Config): CheckResult {
  const name = "metrics-textfile";
  const file = config.metrics.textfile;
  if (!file) return { name, status: "ok", detail: "metrics.textfile not set" };
  const problem = folderProblem(path.dirname(file), "write");
  if (problem) return { name, status: "fail", detail: `${file}: its folder ${path.dirname(file)} ${problem}` };
  return { name, status: "ok", detail: `${file}: its folder is writable` };
}

/** The config holds secrets (the database password): a file others can read gives them away. */
function checkConfigMode(config: Config): CheckResult {
  const name = "config-access";
  const file = config.configPath;
  if (!file) return { name, status: "ok", detail: "no config file" };
  if (process.platform === "win32") return { name, status: "ok", detail: "not checked on Windows (use the file's ACL)" };
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return { name, status: "ok", detail: "the config was read but is no longer there" };
  }
  const problem = secretsReadable(file, raw);
  if (problem)
    return { name, status: "warn", detail: /database\.url's password/.test(problem) ? `${problem}, or move the URL to OFFLINE_JOBS_DATABASE_URL` : problem };
  const mode = fs.statSync(file).mode & 0o777;
  const octal = mode.toString(8).padStart(4, "0");
  return { name, status: "ok", detail: (mode & 0o044) === 0 ? `mode ${octal}: not readable by other users` : `mode ${octal}, but it holds no secrets` };
}

/** The config file and the lock folder out of the jobs' reach (the loader only warns). */
function checkPlacement(config: Config): CheckResult {
  const problems = placementProblems(config);
  if (problems.length) return { name: "config-placement", status: "fail", detail: problems.join("; ") };
  return { name: "config-placement", status: "ok", detail: "the config file and lockDir are outside paths.readRoots and paths.writeRoots" };
}

async function checkDatabase(config: Config): Promise<CheckResult[]> {
  const dependents = ["skip-locked", "schema"];
  const skipped = (why: string) => dependents.map((name): CheckResult => ({ name, status: "skip", detail: why }));
  let db: Database;
  try {
    db = openDatabase(configuredUrls(config.database), config.database.table, 1);
  } catch (error) {
    return [{ name: "database", status: "fail", detail: errorMessage(error) }, ...skipped("no database")];
  }
  const urls = configuredUrls(config.database);
  const where = `${redactUrl(urls[0])}${urls.length > 1 ? ` (the first of ${urls.length} nodes)` : ""}`;
  try {
    let version: string;
    try {
      version = await serverVersion(db);
    } catch (error) {
      return [{ name: "database", status: "fail", detail: `${where}: ${describeDatabaseError(error)}` }, ...skipped("the database is unreachable")];
    }
    const results: CheckResult[] = [{ name: "database", status: "ok", detail: `${where}: server ${version}` }];
    try {
      const server = checkServerVersion(version);
      results.push({ name: "skip-locked", status: "ok", detail: `${server} supports SELECT … FOR UPDATE SKIP LOCKED` });
    } catch (error) {
      results.push({ name: "skip-locked", status: "fail", detail: errorMessage(error) });
    }
    try {
      await checkSchema(db);
      results.push({ name: "schema", status: "ok", detail: `table ${config.database.table} at schema version ${SCHEMA_VERSION}, current` });
    } catch (error) {
      results.push({ name: "schema", status: "fail", detail: describeDatabaseError(error) });
    }
    return results;
  } finally {
    await db.close().catch(() => undefined);
  }
}

/** The CLI's own wording for database errors (never the password), without its "offline-jobs: " prefix. */
function describeDatabaseError(error: unknown): string {
  return (exitCodeFor(error).line ?? errorMessage(error)).replace(/^offline-jobs: /, "");
}

/**
 * The lock folder must take new files: a run creates it if missing (mkdir -p), so a missing
 * folder is fine when its nearest existing parent is writable. Checked by writing a file, not
 * with access(): root passes access() even on a read-only mount.
 */
function checkLockDir(dir: string): CheckResult {
  const name = "lock-dir";
  let existing = dir;
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const missing = existing !== dir;
  try {
    if (!fs.statSync(existing).isDirectory()) return { name, status: "fail", detail: `${dir}: ${existing} is not a folder` };
    const probe = path.join(existing, `.offline-jobs-doctor-${process.pid}`);
    fs.writeFileSync(probe, "");
    fs.unlinkSync(probe);
  } catch (error) {
    return { name, status: "fail", detail: `${dir}: ${missing ? `cannot be created in ${existing}` : "not writable"} (${describeFsError(error)})` };
  }
  return { name, status: "ok", detail: missing ? `${dir} will be created by the first run` : `${dir} is writable` };
}

function checkRoots(name: string, roots: string[], mode: "read" | "write"): CheckResult {
  const key = mode === "read" ? "paths.readRoots" : "paths.writeRoots";
  if (roots.length === 0)
    return { name, status: "warn", detail: `no ${key} configured: jobs with file paths will refuse every ${mode === "read" ? "source" : "output"}` };
  const problems = roots.flatMap((root) => {
    const problem = folderProblem(root, mode);
    return problem ? [`${root} ${problem}`] : [];
  });
  if (problems.length) return { name, status: "fail", detail: problems.join("; ") };
  return { name, status: "ok", detail: `${roots.join(", ")} ${mode === "read" ? "readable" : "writable"}` };
}

function checkDownloads(config: Config): CheckResult {
  const name = "downloads-dir";
  const { dir, baseUrl } = config.downloads;
  if (!dir && !baseUrl)
    return { name, status: "warn", detail: "downloads.dir and downloads.baseUrl not set: create_download_file and collection_download will refuse their jobs" };
  if (!dir || !baseUrl) return { name, status: "fail", detail: `downloads.${dir ? "baseUrl" : "dir"} is not set, and the download types need both` };
  const problem = folderProblem(dir, "write");
  if (problem) return { name, status: "fail", detail: `${dir} ${problem}` };
  return { name, status: "ok", detail: `${dir} writable, served at ${baseUrl}` };
}

function folderProblem(folder: string, mode: "read" | "write"): string | undefined {
  try {
    if (!fs.statSync(folder).isDirectory()) return "is not a folder";
    fs.accessSync(folder, mode === "read" ? fs.constants.R_OK | fs.constants.X_OK : fs.constants.W_OK | fs.constants.X_OK);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT"
      ? "does not exist"
      : `is not ${mode === "read" ? "readable" : "writable"} (${describeFsError(error)})`;
  }
}

function describeFsError(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? errorMessage(error);
}
