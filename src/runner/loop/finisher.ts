import { performance } from "node:perf_hooks";
import { errorMessage } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { isConnectionError, sleep, type Database } from "../../queue/db.js";
import { finishJobs, type Outcome } from "../../queue/finish.js";
import { outcomeBytes } from "../../queue/statement-size.js";
import { noticeOf, type NoticeSubject } from "../../notify/job-notice.js";
import type { Notifier } from "../../notify/notifier.js";
import type { OutcomeBounds } from "../attempt/outcome-bounds.js";

/** Outcomes in one statement at most (and fewer when they are large: see takeBatch). */
const BATCH_OUTCOMES = 500;
/** A write goes once this many outcomes wait… */
const GATHER_OUTCOMES = 64;
/** …or once the oldest of them has waited this long (or at once: see `now` and drain()). */
const GATHER_MS = 20;

interface Waiting {
  outcome: Outcome;
  /** Its share of a finish statement (outcomeBytes). */
  bytes: number;
  job: NoticeSubject;
  done: () => void;
  /** When it was added (performance.now()). */
  at: number;
  /** Written without gathering: the run's next claim depends on it (see runAttempt). */
  now: boolean;
}

/**
 * Writes outcomes in batches. Outcomes gather until GATHER_OUTCOMES wait or the oldest has
 * waited GATHER_MS, and go in one UPDATE (one commit, one fsync); outcomes that arrive while
 * a write is in flight go in the next. A statement holds what fits under the server's
 * max_allowed_packet (OutcomeBounds), so that a large outcome never fails the others' write. Final outcomes that were written (not fenced out) are
 * then handed to the notifier, which delivers their notices in the background.
 *
 * Why gather rather than write whenever no write is in flight: a finish statement costs the
 * server a fixed part (parse, commit) beside its per-row part, and it contends with the claims
 * for the server's CPU and the rows' pages. Measured on 2 cores with 10,000 no-op jobs:
 * writing at once made ~370 finish statements of ~26 outcomes; gathering 64 made ~160. The
 * claims alone (two claimers and a finisher, no runner) went 22 % faster; bench/throughput's
 * whole run 3 % (median of 16 alternating runs, 6,129 → 6,293 jobs/s), as the runner's own
 * work is then what the claims wait for. Gathering 128 or 256 gained nothing more.
 * What it costs: a result reaches the table up to GATHER_MS later when the queue is quiet,
 * and a process killed in that moment leaves a few more finished jobs to run again after
 * their lease: the same at-least-once as a kill during a write. Outcomes a claim depends on
 * are not gathered (`now`: see runAttempt), and a run's end (drain) writes what waits at once.
 */
export class Finisher {
  private queue: Waiting[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Outcomes in the queue added with `now`. */
  private hurried = 0;
  private draining = false;
  private failure: unknown;
  /** Outcomes in the write now in flight, and those whose write failed for good. */
  private writing = 0;
  private dropped = 0;

  constructor(
    private readonly db: Database,
    /** Sizes from the server's max_allowed_packet: the log cap and how much a statement may carry. */
    private readonly bounds: OutcomeBounds,
    private readonly logger: Logger,
    /** How long to keep retrying a write while the database is unreachable. */
    private readonly patienceMs: number,
    private readonly notifier?: Notifier,
    private readonly gather = { outcomes: GATHER_OUTCOMES, ms: GATHER_MS },
  ) {}

  /**
   * `job`: the columns a notice needs that the outcome does not carry. `now`: write it without
   * gathering. Resolves once the outcome is written, fenced out, or given up on.
   */
  add(outcome: Outcome, job: NoticeSubject, options: { now?: boolean } = {}): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    let bytes = outcomeBytes(outcome);
    const fitted = this.bounds.fit(outcome, bytes);
    if (fitted !== outcome) {
      this.logger.warn(`job ${outcome.ref} failed: ${(fitted as { error: string }).error}`, { ref: outcome.ref });
      bytes = outcomeBytes(fitted);
    }
    return new Promise((resolve) => {
      const now = options.now === true;
      this.queue.push({ outcome: fitted, bytes, job, done: resolve, at: performance.now(), now });
      if (now) this.hurried++;
      this.schedule();
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
    this.dropWaiting();
  }

  /** Waits until everything added has been written; throws if the database stayed unreachable. */
  async drain(): Promise<void> {
    this.draining = true;
    this.schedule();
    while (this.flushing) await this.flushing;
    if (this.failure) throw this.failure;
  }

  /** Milliseconds until the waiting outcomes are due to be written (0: now). */
  private dueInMs(): number {
    if (this.queue.length >= this.gather.outcomes || this.hurried > 0 || this.draining) return 0;
    return Math.max(0, this.queue[0]!.at + this.gather.ms - performance.now());
  }

  /** Starts a write when one is due and none is in flight, or a timer for when one will be. */
  private schedule(): void {
    if (this.flushing || this.failure || this.queue.length === 0) return;
    const wait = this.dueInMs();
    if (wait > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, Math.ceil(wait));
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      // What arrived during the last write, if it is due by now (or a timer for it).
      this.schedule();
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0 && !this.failure && this.dueInMs() === 0) {
      const batch = this.takeBatch();
      this.hurried -= batch.filter((b) => b.now).length;
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
        if (!this.failure)
          this.logger.error(`could not record the outcome of ${batch.length} job(s): ${errorMessage(error)}; they will be recovered when their leases expire`);
        this.failure ??= error;
        this.dropped += batch.length;
      }
      this.writing = 0;
      for (const item of batch) item.done();
    }
    if (this.failure) this.dropWaiting();
  }

  /** The first outcomes that fit in one statement together (at least one: fit() made each fit alone). */
  private takeBatch(): Waiting[] {
    let bytes = 0;
    let n = 0;
    for (const item of this.queue) {
      if (n >= BATCH_OUTCOMES || (n > 0 && bytes + item.bytes > this.bounds.statementBytes)) break;
      bytes += item.bytes;
      n++;
    }
    return this.queue.splice(0, n);
  }

  /** Given up: what still waits will not be written (lease recovery re-runs those jobs); release its waiters. */
  private dropWaiting(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const waiting = this.queue;
    this.queue = [];
    this.hurried = 0;
    this.dropped += waiting.length;
    for (const item of waiting) item.done();
  }

  private async writeWithPatience(outcomes: Outcome[]): Promise<number[]> {
    const deadline = Date.now() + this.patienceMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await finishJobs(this.db, outcomes, this.bounds.logChars);
      } catch (error) {
        if (!isConnectionError(error) || Date.now() > deadline || this.failure) throw error;
        this.logger.warn(`database unreachable while recording results (${errorMessage(error)}); retrying`);
        await sleep(Math.min(5000, 200 * 2 ** attempt));
      }
    }
  }
}
