import { errorMessage } from "../../errors.js";
import type { Registry } from "../../handlers/registry.js";
import type { HostLocks } from "../../locks/host-locks.js";
import type { Logger } from "../../logger.js";
import type { Notifier } from "../../notify/notifier.js";
import type { Database } from "../../queue/db.js";
import { recoverExpiredJobs } from "../../queue/leases.js";
import { renderNotice } from "../attempt/notice.js";

/** How far ahead of now a running row's lease may be before recovery takes it as lost (× leaseSeconds). */
export const LEASE_AHEAD_FACTOR = 10;

/**
 * Recovers jobs whose worker was lost (their lease expired): each type's attempt limit and
 * `onLost` policy decide between pending again and failed. A job failed here gets its
 * failure_text rendered into its result and delivered, like any other failure. Returns how
 * many were re-queued.
 */
export async function recoverLostJobs(
  deps: { db: Database; registry: Registry; logger: Logger; config: { leaseSeconds: number } },
  notifier?: Notifier,
): Promise<number> {
  const { registry, logger } = deps;
  const { requeued, failed, refused } = await recoverExpiredJobs(deps.db, {
    // Runners grant leaseSeconds (hosts sharing a table may differ, within this factor): a
    // lease further ahead was written by hand, and would hold its row and job_code for ever.
    maxLeaseSeconds: deps.config.leaseSeconds * LEASE_AHEAD_FACTOR,
    maxAttempts: (type) => registry.settings(type).maxAttempts,
    onLost: (type) => registry.settings(type).onLost,
    failureNotice: (job) => renderNotice(job.failureText, { ref: job.ref, type: job.type, user: job.user, error: job.error }, true),
  });
  if (refused?.length)
    logger.warn(`failed ${refused.length} running job(s) whose ref is beyond 2^53 - 1, which offline-jobs cannot carry: ${refused.join(", ")}`);
  if (requeued.length) logger.info(`re-queued ${requeued.length} job(s) whose worker was lost: ${requeued.join(", ")}`);
  if (failed.length) {
    logger.warn(`failed ${failed.length} job(s) whose worker was lost: ${failed.map((f) => f.ref).join(", ")}`);
    notifier?.notify(failed.map((f) => ({ ref: f.ref, type: f.type, user: f.user, status: "failed", notice: f.notice ?? "", url: null })));
  }
  return requeued.length;
}

/**
 * Lease recovery for one run: once before it claims, then in the background at most once a
 * lease while it runs (the run never waits for it). `onRequeued`: jobs went back to pending,
 * so a run that thought the queue empty should look again.
 */
export class LeaseRecovery {
  private last = 0;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly deps: { db: Database; registry: Registry; logger: Logger; config: { leaseSeconds: number }; locks?: HostLocks },
    private readonly notifier: Notifier | undefined,
    private readonly onRequeued: () => void,
  ) {}

  async now(): Promise<void> {
    this.last = Date.now();
    // This host's part first: subprocesses that a dead process's jobs left running are ended
    // before their jobs can be claimed again, here or on another host (SECURITY.md, Subprocesses).
    await this.deps.locks?.endOrphans();
    if ((await recoverLostJobs(this.deps, this.notifier)) > 0) this.onRequeued();
  }

  /** Starts one in the background when a lease has passed since the last; `then` runs after it. */
  whenDue(then: () => void): void {
    if (this.inFlight || Date.now() - this.last <= this.deps.config.leaseSeconds * 1000) return;
    this.inFlight = this.now()
      .catch((error) => this.deps.logger.warn(`recovery of expired leases failed: ${errorMessage(error)}`))
      .finally(() => {
        this.inFlight = undefined;
        then();
      });
  }

  /** Waits for a background recovery still running. */
  async settled(): Promise<void> {
    await this.inFlight;
  }
}
