import { Notifier } from "../../notify/notifier.js";
import { claimJobs } from "../../queue/claim.js";
import { ClaimCursor } from "../../queue/claim-cursor.js";
import type { ClaimedJob } from "../../queue/claimed-job.js";
import { DatabaseSilentError } from "../../queue/db.js";
import { recordCancelled, releaseJobs } from "../../queue/finish.js";
import { ensureTypeSlots } from "../../queue/type-slots.js";
import { activate, runAttempt, type ActiveJob, type AttemptRun } from "../attempt/attempt.js";
import { claimSize, lookAgainInMs } from "./claim-plan.js";
import type { AttemptEnd } from "../attempt-end.js";
import { JobStopped } from "../attempt/execute-job.js";
import { Finisher } from "./finisher.js";
import { startHeartbeat, type Heartbeat } from "./heartbeat.js";
import { runHousekeeping } from "./housekeeping.js";
import { LogFlusher } from "./log-flusher.js";
import { OutcomeBounds } from "../attempt/outcome-bounds.js";
import { LeaseRecovery } from "./recovery.js";
import { RunSlots } from "./run-slots.js";
import { emptyCounts, type RunCounts } from "../../metrics/run-counts.js";
import type { RunnerDeps, RunOptions } from "../runner-deps.js";

/** Claims in a row that found a limited type's slot row held, before the run stops asking at once. */
const MAX_CONTENDED_RETRIES = 20;

/**
 * The claim loop of one run: claims batches into a small buffer, runs up to one job per
 * held slot, renews leases, recovers expired ones, and hands outcomes to the Finisher.
 * Everything is event-driven from pump(): a job ending, a claim returning, a timer.
 */
export class QueueRunner {
  readonly counts: RunCounts = emptyCounts();
  private readonly slots: RunSlots;
  private readonly running = new Map<number, ActiveJob>();
  private buffer: ClaimedJob[] = [];
  /** Claims in flight, and how many jobs they asked for together. */
  private claiming = 0;
  private asked = 0;
  private exhausted = false;
  private stopping = false;
  private claimed = 0;
  private meanMs: number | undefined;
  private contendedRetries = 0;
  /** Jobs of this run that have ended (a claim compares it before and after). */
  private ended = 0;
  private fatal: unknown;
  private finished?: () => void;
  /** The database stopped answering (see giveUpOnDatabase): nothing more is asked of it. */
  private silent = false;
  /** Set once the run has decided to end: pump() does nothing more. */
  private done = false;
  /** run --job: an operator's explicit run, which takes its job lock before starting. */
  private single = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private heartbeat: Heartbeat | undefined;
  private readonly cursor = new ClaimCursor();
  private readonly finisher: Finisher;
  /** Read from the server before the first job starts (drain, runClaimed). */
  private readonly bounds: OutcomeBounds;
  private readonly attemptRun: AttemptRun;
  private readonly logFlusher: LogFlusher;
  private readonly notifier: Notifier | undefined;
  private readonly recovery: LeaseRecovery;
  private readonly types: string[];
  private readonly limits: Record<string, number>;
  /** Some selected type has a concurrency limit (its claims go one at a time). */
  private readonly limited: boolean;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly options: RunOptions,
  ) {
    this.slots = new RunSlots(deps.locks, options.maxJobs);
    this.types = deps.registry.selected(options.types);
    this.limits = deps.registry.limits(this.types);
    this.limited = Object.keys(this.limits).length > 0;
    this.notifier = Notifier.fromConfig(deps.config, deps.logger);
    this.bounds = new OutcomeBounds(deps.config.logMaxBytes);
    this.logFlusher = new LogFlusher({ db: deps.db, logger: deps.logger, bounds: this.bounds }, () => this.running.values());
    this.finisher = new Finisher(deps.db, this.bounds, deps.logger, deps.config.leaseSeconds * 1000, this.notifier);
    this.recovery = new LeaseRecovery(deps, this.notifier, () => (this.exhausted = false));
    this.attemptRun = { finisher: this.finisher, logFlusher: this.logFlusher, counts: this.counts, limits: this.limits, bounds: this.bounds };
  }

  /** Takes up to `want` free slots of this host; returns how many this run holds (0: all busy). */
  async takeSlots(want: number): Promise<number> {
    await this.slots.take(want);
    return this.slots.count;
  }

  /**
   * A worker takes the slots that other processes on this host freed since it started (a cron
   * run that ended), up to --max-jobs, so that it does not stay at the few it found free.
   */
  async topUpSlots(): Promise<void> {
    if (this.stopping || this.done) return;
    const taken = await this.slots.topUp();
    if (taken === 0) return;
    this.deps.logger.info(`took ${taken} more slot(s): ${this.slots.count} of ${this.slots.total}`);
    this.pump();
  }

  /** Drains the queue: returns when nothing due is left (or the limits are reached) and all is recorded. */
  async drain(): Promise<void> {
    // Everything inside the try: a database that fails the first queries must still get the
    // slots back (a worker starts another run in this process, which would find them held).
    try {
      // The heartbeat first: should the database freeze during the queries below, its clock
      // is what ends the wait (giveUpOnDatabase).
      this.startBackground();
      await this.bounds.read(this.deps.db, this.deps.logger);
      await ensureTypeSlots(this.deps.db, Object.keys(this.limits));
      await this.recovery.now();
      await runHousekeeping(this.deps.config, this.deps.db, this.deps.logger);
      if (this.options.maxTimeSeconds !== undefined) {
        this.later(this.options.maxTimeSeconds * 1000, () => this.stop("--max-time reached"));
      }
      await new Promise<void>((resolve) => {
        this.finished = resolve;
        this.pump();
      });
      if (this.fatal) throw this.fatal;
    } catch (error) {
      // A query cut by giveUpOnDatabase fails with a lost connection: the cause is the silence.
      throw this.fatal ?? error;
    } finally {
      await this.shutdown();
    }
  }

  /** Runs one already-claimed job (run --job) and waits until its outcome is recorded. */
  async runClaimed(job: ClaimedJob): Promise<AttemptEnd | undefined> {
    this.single = true;
    this.startBackground();
    try {
      await this.bounds.read(this.deps.db, this.deps.logger);
      const end = await this.execute(this.track(job));
      // Asking the silent database for the job's row would only wait out a connect timeout.
      if (this.silent) throw this.fatal;
      return end;
    } finally {
      await this.shutdown();
    }
  }

  /** run --job: recovers expired leases (and this host's orphaned subprocesses) before the job is claimed. */
  recoverLeases(): Promise<void> {
    return this.recovery.now();
  }

  /** Waits (bounded) for notices still being delivered, when the run ends without shutdown(). */
  async settleNotices(): Promise<void> {
    await this.notifier?.settle();
  }

  /** Stop claiming; buffered jobs go back to pending, running ones finish. */
  stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.deps.logger.info(`stopping: ${reason}`);
    this.pump();
  }

  /** The grace period of a stop is over: interrupt the running jobs, which go back to pending. */
  interruptRunning(reason: string): void {
    for (const active of this.running.values()) active.stopSwitch.stop(new JobStopped("shutdown", reason));
  }

  /** Jobs running now (for a stop's grace period). */
  get runningCount(): number {
    return this.running.size;
  }

  private limitLeft(): number {
    return this.options.limit === undefined ? Infinity : this.options.limit - this.claimed - this.asked;
  }

  /** Runs `change` and pumps after `ms`, unless the run has ended by then. */
  private later(ms: number, change: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      change();
      this.pump();
    }, ms);
    this.timers.add(timer);
  }

  private pump(): void {
    if (this.done) return;
    // Outcomes that cannot be written are lost work: running more jobs would only run them
    // again once their leases expire. End the run (a worker starts a new one after --sleep).
    this.fatal ??= this.finisher.failed;
    if (this.fatal) this.stopping = true;
    while (!this.stopping && this.running.size < this.slots.count && this.buffer.length > 0) this.start(this.buffer.shift()!);
    if (!this.stopping) this.recovery.whenDue(() => this.pump());
    const want = claimSize({
      slots: this.slots.count,
      running: this.running.size,
      buffered: this.buffer.length,
      claiming: this.claiming,
      asked: this.asked,
      meanMs: this.meanMs,
      prefetchFactor: this.deps.config.prefetchFactor,
      limited: this.limited,
      limitLeft: this.limitLeft(),
    });
    if (!this.exhausted && !this.stopping && want > 0) this.claim(want);
    const idle = this.running.size === 0 && this.claiming === 0 && (this.buffer.length === 0 || this.stopping);
    const drained = this.exhausted && this.options.idleSleepSeconds === undefined;
    if (idle && (drained || this.stopping || this.limitLeft() <= 0) && this.finished) {
      this.done = true;
      this.finished();
    }
  }

  private claim(want: number): void {
    const endedBefore = this.ended;
    this.claiming++;
    this.asked += want;
    void claimJobs(this.deps.db, {
      types: this.types,
      limits: this.limits,
      max: want,
      workerId: this.deps.workerId,
      leaseSeconds: this.deps.config.leaseSeconds,
      cursor: this.cursor,
    })
      .finally(() => {
        this.claiming--;
        this.asked -= want;
      })
      .then(({ jobs, contended, full }) => {
        this.claimed += jobs.length;
        this.buffer.push(...jobs);
        // The retries below are for claims that found nothing but a held slot row in a row;
        // any progress starts the count again (a limited type's claims are always short).
        if (jobs.length > 0 || contended.length === 0) this.contendedRetries = 0;
        if (jobs.length >= want) return;
        // A job of ours ended while this claim was out: a type it found at its limit may have
        // room now, and that job's end has already asked for more (finding this claim out).
        if (full.length > 0 && this.ended !== endedBefore) return;
        this.exhausted = true;
        const wait = lookAgainInMs({
          contended: contended.length > 0 && this.contendedRetries++ < MAX_CONTENDED_RETRIES,
          running: this.running.size,
          idleSleepSeconds: this.options.idleSleepSeconds,
        });
        if (wait !== undefined) this.later(wait, () => (this.exhausted = false));
      })
      .catch((error) => {
        this.fatal ??= error;
      })
      .finally(() => this.pump());
  }

  /** Counts the job as running at once, so that pump() never starts more jobs than slots. */
  private track(job: ClaimedJob): ActiveJob {
    const active = activate(job, this.bounds.logChars);
    this.running.set(job.ref, active);
    return active;
  }

  private start(job: ClaimedJob): void {
    this.execute(this.track(job))
      .catch((error) => {
        this.fatal ??= error;
      })
      .finally(() => {
        // A slot opened: a type at its concurrency limit may have room again.
        this.ended++;
        this.exhausted = false;
        this.pump();
      });
  }

  private async execute(active: ActiveJob): Promise<AttemptEnd | undefined> {
    try {
      const end = await runAttempt(this.deps, this.attemptRun, active, active.job.attempt > 1 || this.single);
      if (end) this.meanMs = this.meanMs === undefined ? end.durationMs : this.meanMs * 0.9 + end.durationMs * 0.1;
      return end;
    } finally {
      // Only now is the job no longer ours: its outcome has been handed to the Finisher, so the
      // run cannot judge itself idle (and close the pool) while a result is still unsaved.
      this.running.delete(active.job.ref);
    }
  }

  /** What runs beside the jobs until shutdown(): the heartbeat (leases, cancels) and the live log. */
  private startBackground(): void {
    this.logFlusher.start();
    this.heartbeat = startHeartbeat(this.deps, {
      handles: () => [
        ...[...this.running.values()].map((a) => ({ ref: a.job.ref, token: a.job.token, progress: a.progress })),
        ...this.buffer.map((j) => ({ ref: j.ref, token: j.token, progress: null })),
      ],
      onLost: (gone) => {
        const unstarted = this.buffer.find((j) => j.ref === gone.ref);
        if (unstarted) {
          this.buffer = this.buffer.filter((j) => j !== unstarted);
          // Cancelled before it started here: nobody else will record its end.
          if (gone.reason === "cancelled") void recordCancelled(this.deps.db, unstarted, "", this.bounds.logChars).catch(() => undefined);
        }
        this.running.get(gone.ref)?.stopSwitch.stop(new JobStopped(gone.reason, gone.detail));
      },
      onSilent: (seconds, lastError) => this.giveUpOnDatabase(seconds, lastError),
    });
  }

  /**
   * The database has not answered for most of a lease (frozen, or partitioned away): the
   * heartbeat has stopped our jobs, and what we wait for may never return. End the run (a
   * worker starts another after --sleep) rather than wait hours for TCP to give up with the
   * host's slots held; cutting the connections fails the queries in flight at once.
   */
  private giveUpOnDatabase(seconds: number, lastError?: string): void {
    this.silent = true;
    this.fatal ??= new DatabaseSilentError(seconds, lastError);
    this.stopping = true;
    this.finisher.abandon(this.fatal);
    this.deps.db.abandon();
    this.pump();
  }

  private async shutdown(): Promise<void> {
    this.heartbeat?.stop();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.logFlusher.stop();
    try {
      // A silent database gets no more questions (they would wait as long as the last ones):
      // what the run still holds is left to lease recovery.
      if (this.silent) {
        const left = [`${this.finisher.unwritten} result(s) not recorded`, `${this.buffer.length} claimed job(s) not started`];
        return this.deps.logger.warn(`left to lease recovery: ${left.join(" and ")}; they run again once their leases expire`);
      }
      await this.recovery.settled();
      await this.finisher.drain();
      const unstarted = this.buffer;
      this.buffer = [];
      if (unstarted.length) {
        await releaseJobs(this.deps.db, unstarted);
        this.deps.logger.info(`put ${unstarted.length} claimed but unstarted job(s) back to pending`);
      }
    } finally {
      await this.releaseSlots();
      // After the slots are free: notices still being delivered get a bounded wait, not dropped.
      await this.notifier?.settle();
    }
  }

  releaseSlots(): Promise<void> {
    return this.slots.release();
  }
}
