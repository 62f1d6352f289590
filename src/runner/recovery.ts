import type { Registry } from "../handlers/registry.js";
import type { Logger } from "../logger.js";
import type { Database } from "../queue/db.js";
import { recoverExpiredJobs } from "../queue/finish.js";

/**
 * Recovers jobs whose worker was lost (their lease expired): each type's attempt limit and
 * `onLost` policy decide between pending again and failed. Returns how many were re-queued.
 */
export async function recoverLostJobs(deps: { db: Database; registry: Registry; logger: Logger }): Promise<number> {
  const { registry, logger } = deps;
  const { requeued, failed } = await recoverExpiredJobs(deps.db, {
    maxAttempts: (type) => registry.settings(type).maxAttempts,
    onLost: (type) => registry.settings(type).onLost,
  });
  if (requeued.length) logger.info(`re-queued ${requeued.length} job(s) whose worker was lost: ${requeued.join(", ")}`);
  if (failed.length) logger.warn(`failed ${failed.length} job(s) whose worker was lost: ${failed.join(", ")}`);
  return requeued.length;
}
