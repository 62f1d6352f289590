import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import { isConnectionError, sleep, type Database } from "../queue/db.js";
import { finishJobs, type Outcome } from "../queue/finish.js";
import { noticeOf, type NoticeSubject } from "../notify/job-notice.js";
import type { Notifier } from "../notify/notifier.js";

/**
 * Writes outcomes in batches: while one UPDATE is in flight, the outcomes that arrive queue
 * up and go together in the next one. Under load that is group commit (one fsync for many
 * jobs); when idle, each outcome is written at once. Final outcomes that were written (not
 * fenced out) are then handed to the notifier, which delivers their notices in the background.
 */
export class Finisher {
  private queue: Array<{ outcome: Outcome; job: NoticeSubject; done: () => void }> = [];
  private flushing: Promise<void> | undefined;
  private failure: unknown;
  /** Outcomes in the write now in flight, and those whose write failed for good. */
  private writing = 0;
  private dropped = 0;

  constructor(
    private readonly db: Database,
    private readonly logMaxChars: number,
    private readonly logger: Logger,
    /** How long to keep retrying a write while the database is unreachable. */
    private readonly patienceMs: number,
    private readonly notifier?: Notifier,
  ) {}

  /** `job`: the columns a notice needs that the outcome does not carry. */
  add(outcome: Outcome, job: NoticeSubject): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve) => {
      this.queue.push({ outcome, job, done: resolve });
      this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
    });
  }

  /** Why outcomes can no longer be written (the database stayed unreachable), once that happened. */
  get failed(): unknown {
    return this.failure;
  }

  /** Outcomes added and not (yet) written. */
  get unwritten(): number {
    return this.queue.length + this.writing + this.dropped;
  }

  /**
   * Gives up on the database (it stopped answering): no more retries, no more writes. The
   * outcomes still here are left to lease recovery; drain() and add() reject with `why`.
   */
  abandon(why: unknown): void {
    this.failure ??= why;
  }

  /** Waits until everything added has been written; throws if the database stayed unreachable. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.failure) throw this.failure;
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0 && !this.failure) {
      const batch = this.queue.splice(0, 500);
      this.writing = batch.length;
      try {
        const fenced = await this.writeWithPatience(batch.map((b) => b.outcome));
        for (const ref of fenced) {
          this.logger.warn(`job ${ref}: its result was not recorded, because this process no longer holds it (lease expired or cancelled)`, { ref });
        }
        // Only what the table now says: a fenced-out outcome is someone else's to announce.
        const fencedOut = new Set(fenced);
        const recorded = batch.filter((b) => !fencedOut.has(b.outcome.ref));
        this.notifier?.notify(recorded.flatMap((b) => noticeOf(b.outcome, b.job) ?? []));
      } catch (error) {
        // Abandoned: the run reports what it left behind, once, for all of it.
        if (!this.failure) this.logger.error(`could not record the outcome of ${batch.length} job(s): ${errorMessage(error)}; they will be recovered when their leases expire`);
        this.failure ??= error;
        this.dropped += batch.length;
      }
      this.writing = 0;
      for (const item of batch) item.done();
    }
  }

  private async writeWithPatience(outcomes: Outcome[]): Promise<number[]> {
    const deadline = Date.now() + this.patienceMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await finishJobs(this.db, outcomes, this.logMaxChars);
      } catch (error) {
        if (!isConnectionError(error) || Date.now() > deadline || this.failure) throw error;
        this.logger.warn(`database unreachable while recording results (${errorMessage(error)}); retrying`);
        await sleep(Math.min(5000, 200 * 2 ** attempt));
      }
    }
  }
}
