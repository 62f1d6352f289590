import fs from "node:fs/promises";
import path from "node:path";
import type { Config } from "../config/schema.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";

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
