import { loadConfig, type LoadConfigOptions } from "../config/load-config.js";
import type { Config } from "../config/schema.js";
import { InvalidJobError } from "../errors.js";
import { loadRegistry } from "../handlers/registry.js";
import { configuredUrls } from "../config/database-url.js";
import { openDatabase, type Database } from "../queue/db.js";
import { enqueueJobs, type Enqueued, type NewJob } from "../queue/enqueue.js";
import { wakeWorkers } from "../locks/wake.js";
import { newJobProblem } from "./check-new-job.js";

export interface EnqueueOptions extends LoadConfigOptions {
  /**
   * Add a job of a type or command template this config does not know (for a host whose
   * config does), as `add --force`. Bad job_data and values the columns cannot hold are
   * refused even so.
   */
  force?: boolean;
}

/**
 * Checks every job as `add` does (src/client/check-new-job.ts) and throws InvalidJobError for
 * the first that would not run, naming its place in the list; `onForced` hears the problems
 * `force` let through, each as the sentence the error would have had.
 */
export async function checkNewJobs(
  jobs: NewJob[],
  config: Config,
  force: boolean,
  onForced?: (message: string) => void,
  where?: (index: number) => string,
): Promise<void> {
  const registry = await loadRegistry(config);
  jobs.forEach((job, index) => {
    const problem = newJobProblem(job, registry, config.commands);
    if (!problem) return;
    const place = where ? where(index) : jobs.length > 1 ? `job ${index + 1} of ${jobs.length}: ` : "";
    if (problem.forceable && force) onForced?.(`${place}${problem.message}`);
    else throw new InvalidJobError(`${place}${problem.message}`, problem.forceable);
  });
}

/**
 * Adds checked jobs and wakes the workers of this host (src/locks/wake.ts), so that one
 * waiting for work starts them at once instead of at its next poll.
 */
export async function addJobs(db: Database, config: Config, jobs: NewJob[]): Promise<Enqueued[]> {
  const added = await enqueueJobs(db, jobs);
  if (added.some((job) => !job.existing)) await wakeWorkers(config.lockDir);
  return added;
}

/** Opens the config's database for one call of the library, and closes it after. */
export async function withLibraryDatabase<T>(config: Config, work: (db: Database) => Promise<T>): Promise<T> {
  const db = openDatabase(configuredUrls(config.database), config.database.table, 1);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/**
 * Adds jobs to the queue (several in one transaction) and returns their refs. With `code`, an
 * active job with the same code is returned instead (`existing: true`). The config is read
 * as the command reads it (OFFLINE_JOBS_CONFIG, OFFLINE_JOBS_DATABASE_URL, ./config.json), and
 * each job is checked against it first, as `add` checks it.
 */
export async function enqueue(jobs: NewJob | NewJob[], options: EnqueueOptions = {}): Promise<Enqueued[]> {
  const list = Array.isArray(jobs) ? jobs : [jobs];
  const config = loadConfig(options);
  await checkNewJobs(list, config, options.force === true);
  return withLibraryDatabase(config, (db) => addJobs(db, config, list));
}
