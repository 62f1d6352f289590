import type { Registry } from "../handlers/registry.js";
import type { Logger } from "../logger.js";
import type { Notifier } from "../notify/notifier.js";
import type { Database } from "../queue/db.js";
import { recoverExpiredJobs } from "../queue/finish.js";
import { renderNotice } from "./notice.js";

/**
 * Recovers jobs whose worker was lost (their lease expired): each type's attempt limit and
 * `onLost` policy decide between pending again and failed. A job failed here gets its
 * failure_text rendered into its result and delivered, like any other failure. Returns how
 * many were re-queued.
 */
export async function recoverLostJobs(deps: { db: Database; registry: Registry; logger: Logger }, notifier?: Notifier): Promise<number> {
  const { registry, logger } = deps;
  const { requeued, failed } = await recoverExpiredJobs(deps.db, {
    maxAttempts: (type) => registry.settings(type).maxAttempts,
    onLost: (type) => registry.settings(type).onLost,
    failureNotice: (job) => renderNotice(job.failureText, { ref: job.ref, type: job.type, user: job.user, error: job.error }, true),
  });
  if (requeued.length) logger.info(`re-queued ${requeued.length} job(s) whose worker was lost: ${requeued.join(", ")}`);
  if (failed.length) {
    logger.warn(`failed ${failed.length} job(s) whose worker was lost: ${failed.map((f) => f.ref).join(", ")}`);
    notifier?.notify(failed.map((f) => ({ ref: f.ref, type: f.type, user: f.user, status: "failed", notice: f.notice ?? "", url: null })));
  }
  return requeued.length;
}
