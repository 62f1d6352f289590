import fs from "node:fs/promises";
import path from "node:path";
import type { Config } from "../../config/schema.js";
import { errorMessage } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { Database } from "../../queue/db.js";
import { purgeJobs, settleAbandonedCancels } from "../../queue/cleanup.js";
import { takeHousekeepingTurn } from "../../queue/state.js";

/** Names create_download_file and collection_download give their files: 32 hex digits, then a name. */
const DOWNLOAD_NAME = /^\.?[0-9a-f]{32}-/;

/**
 * Removes downloads older than downloads.ttlHours (and temporaries left by a crash). Only
 * files named the way the download handlers name them are touched, so a downloads folder
 * shared with other files is safe. Runs at the start of every run; failures are logged only.
 */
export async function removeExpiredDownloads(config: Config, logger: Logger, now = Date.now()): Promise<string[]> {
  const { dir, ttlHours } = config.downloads;
  if (!dir) return [];
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (!DOWNLOAD_NAME.test(entry)) continue;
    const file = path.join(dir, entry);
    try {
      const stat = await fs.lstat(file);
      if (!stat.isFile() || now - stat.mtimeMs < ttlHours * 3600_000) continue;
      await fs.rm(file, { force: true });
      removed.push(file);
    } catch (error) {
      logger.warn(`housekeeping: could not remove ${file}: ${errorMessage(error)}`);
    }
  }
  if (removed.length) logger.info(`housekeeping: removed ${removed.length} download(s) older than ${ttlHours} h`);
  return removed;
}

/**
 * Retention purges scan the finished rows (finished_at has no index), so across all hosts they
 * run at most once a minute, and delete at most this many rows each time: a large backlog
 * (retention just switched on) is worked off over a few runs instead of delaying one.
 */
const RETENTION_EVERY_SECONDS = 60;
const RETENTION_MAX_ROWS = 10_000;

/**
 * retention.completeDays (complete jobs) and retention.failedDays (failed and cancelled ones:
 * what went wrong or was stopped is kept as long as failures, as PKP's delete_failed_jobs_after
 * does): deletes jobs that finished longer ago than that. Unset keeps them forever. Also gives
 * a finished_at to jobs cancelled while running whose process never recorded the end. Runs at
 * the start of every run; failures are logged, never fatal.
 */
export async function removeExpiredJobs(config: Config, db: Database, logger: Logger): Promise<{ complete: number; failed: number }> {
  const removed = { complete: 0, failed: 0 };
  const { completeDays, failedDays } = config.retention;
  try {
    if (!(await takeHousekeepingTurn(db, "retention", RETENTION_EVERY_SECONDS))) return removed;
    await settleAbandonedCancels(db);
    if (completeDays !== undefined) {
      removed.complete = await purgeJobs(db, { olderThanDays: completeDays, statuses: ["complete"], maxRows: RETENTION_MAX_ROWS });
    }
    if (failedDays !== undefined) {
      removed.failed = await purgeJobs(db, { olderThanDays: failedDays, statuses: ["failed", "cancelled"], maxRows: RETENTION_MAX_ROWS });
    }
  } catch (error) {
    logger.warn(`housekeeping: could not delete old jobs: ${errorMessage(error)}`);
  }
  if (removed.complete) logger.info(`housekeeping: deleted ${removed.complete} complete job(s) finished over ${completeDays} day(s) ago`);
  if (removed.failed) logger.info(`housekeeping: deleted ${removed.failed} failed or cancelled job(s) finished over ${failedDays} day(s) ago`);
  return removed;
}

/** What every run does before it claims, and a worker every minute: expired downloads, then retention. Never throws. */
export async function runHousekeeping(config: Config, db: Database, logger: Logger): Promise<void> {
  await removeExpiredDownloads(config, logger);
  await removeExpiredJobs(config, db, logger);
}
