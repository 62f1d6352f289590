import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { Config } from "../config/schema.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import { jobStats } from "../queue/admin.js";
import type { Database } from "../queue/db.js";
import { queueFamilies, runFamilies, type RunMetrics } from "./job-metrics.js";
import { renderExposition } from "./prometheus.js";

export type { RunMetrics };

/**
 * `metrics.textfile`: after a run (or an iteration of `work`), the queue's state and what the
 * run did, for node_exporter's textfile collector. Does nothing when no textfile is configured.
 * Never throws: metrics must not turn a good run into a failed one, so a failure is a warning.
 */
export async function writeMetricsTextfile(config: Config, db: Database, run: RunMetrics, logger: Logger): Promise<void> {
  const file = metricsTextfilePath(config);
  if (!file) return;
  try {
    const text = renderExposition([...queueFamilies(await jobStats(db)), ...runFamilies(run)]);
    await writeFileAtomically(file, text);
    logger.debug(`metrics written to ${file}`);
  } catch (error) {
    logger.warn(`could not write the metrics textfile ${file}: ${errorMessage(error)}`);
  }
}

/** The configured textfile, relative paths taken from the config file's folder like every other path. */
export function metricsTextfilePath(config: Config): string | undefined {
  const file = config.metrics.textfile;
  if (!file) return undefined;
  return path.resolve(config.configPath ? path.dirname(config.configPath) : process.cwd(), file);
}

/**
 * Writes a temporary file beside the target and renames it over the target: rename is atomic
 * within a folder, so the collector never reads half a file, and two runs on one host writing
 * at once each leave a whole file. The temporary name does not end in .prom, so the collector
 * ignores it.
 */
export async function writeFileAtomically(file: string, text: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    await fs.writeFile(temp, text, { mode: 0o644 });
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}
