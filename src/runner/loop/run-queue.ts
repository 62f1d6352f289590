import { Notifier } from "../../notify/notifier.js";
import type { ClaimedJob } from "../../queue/claimed-job.js";
import { DatabaseSilentError, retriedConflicts } from "../../queue/db.js";
import { retryOnAnotherNode } from "../../queue/node-failover.js";
import { ensureTypeSlots } from "../../queue/type-slots.js";
import { lookAgainInMs } from "./claim-plan.js";
import type { AttemptEnd } from "../attempt-end.js";
import { JobStopped } from "../attempt/job-stopped.js";
import { Finisher } from "./finisher.js";
import { startHeartbeat, type Heartbeat } from "./heartbeat.js";
import { runHousekeeping } from "./housekeeping.js";
import { LogFlusher } from "./log-flusher.js";
import { OutcomeBounds } from "../attempt/outcome-bounds.js";
import { LeaseRecovery } from "./recovery.js";
import { RunClaims } from "./run-claims.js";
import { RunSlots } from "./run-slots.js";
import { NewRowWatch } from "./new-row-watch.js";
import { RunState } from "./run-state.js";
import { StartMarks } from "./start-marks.js";
import { RunningJobs } from "./running-jobs.js";
import { emptyCounts, type RunCounts } from "../../metrics/run-counts.js";
import type { RunnerDeps, RunOptions } from "../runner-deps.js";

/**
 * The claim loop of one run: claims batches into a small buffer, runs up to one job per
 * held slot, renews leases, recovers expired ones, and hands outcomes to the Finisher.
 * Everything is event-driven from pump(): a job ending, a claim returning, a timer.
 */
export class QueueRunner {
  readonly counts: RunCounts = emptyCounts();
  private readonly slots: RunSlots;
  private readonly running: RunningJobs;
  private readonly state = new RunState();
  private readonly claims: RunClaims;
  /** Jobs of this run that have ended (a claim compares it before and after). */
  private ended = 0;
  private fatal: unknown;
  private finished?: () => void;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** New rows between an idle worker's claims; a wake that came while a claim was out. */
  private readonly newRows: NewRowWatch;
  private wokenMeanwhile = false;
  private heartbeat: Heartbeat | undefined;
  private readonly finisher: Finisher;
  /** Read from the server before the first job starts (drain, runClaimed). */
  private readonly bounds: OutcomeBounds;
  private readonly logFlusher: LogFlusher;
  private readonly notifier: Notifier | undefined;
  private readonly recovery: LeaseRecovery;
  /** Records the starts of jobs claimed ahead, whose claims did not count their attempts. */
  private readonly startMarks: StartMarks;
  private readonly limits: Record<string, number>;
  /** The process's conflict retries when this run began (its debug summary reports its own). */
  private readonly conflictsBefore = retriedConflicts();

  constructor(
    private readonly deps: RunnerDeps,
    private readonly options: RunOptions,
  ) {
    this.slots = new RunSlots(deps.locks, options.maxJobs);
    const types = deps.registry.selected(options.types);
    this.limits = deps.registry.limits(types);
    this.claims = new RunClaims(deps, types, this.limits, options.limit);
    this.notifier = Notifier.fromConfig(deps.config, deps.logger);
    this.bounds = new OutcomeBounds(deps.config.logMaxBytes);
    this.logFlusher = new LogFlusher({ db: deps.db, logger: deps.logger, bounds: this.bounds }, () => this.running.values());
    this.finisher = new Finisher(deps.db, this.bounds, deps.logger, deps.config.leaseSeconds * 1000, this.notifier);
    this.recovery = new LeaseRecovery(deps, this.notifier, () => this.lookAgain());
    this.newRows = new NewRowWatch(deps.db);
    this.startMarks = new StartMarks(deps.db, deps.logger);
    const attemptRun = { finisher: this.finisher, logFlusher: this.logFlusher, counts: this.counts, limits: this.limits, bounds: this.bounds };
    this.running = new RunningJobs(deps, attemptRun, this.startMarks, this.claims.durations);
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
    if (!this.state.open) return;
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
      // Each of these may be done again: on the next node, should the first fail under them.
      await retryOnAnotherNode(this.deps.db.nodes, async () => {
        await this.bounds.read(this.deps.db, this.deps.logger);
        await ensureTypeSlots(this.deps.db, Object.keys(this.limits));
        await this.recovery.now();
      });
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
    this.startBackground();
    try {
      await this.bounds.read(this.deps.db, this.deps.logger);
      // An operator's explicit run: it takes its job lock before starting.
      const end = await this.running.run(job, true);
      // Asking the silent database for the job's row would only wait out a connect timeout.
      if (this.state.is === "silent") throw this.fatal;
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
    if (!this.state.enter("stopping")) return;
    this.deps.logger.info(`stopping: ${reason}`);
    this.pump();
  }

  /** The grace period of a stop is over: interrupt the running jobs, which go back to pending. */
  interruptRunning(reason: string): void {
    this.running.interruptAll(reason);
  }

  /** Jobs running now (for a stop's grace period). */
  get runningCount(): number {
    return this.running.size;
  }

  /** Jobs were added on this host (a wake datagram): a run waiting for work claims at once. */
  wake(): void {
    // A claim out now may have read the table before the new row: claim once more when it is back.
    if (this.state.is !== "empty") return void (this.wokenMeanwhile = this.state.open);
    this.lookAgain();
    this.pump();
  }

  /** Something says the queue may have work again (a timer, a job's end, re-queued jobs): a run that found it empty claims again. */
  private lookAgain(): void {
    this.state.enter("claiming");
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
    if (this.state.is === "ended") return;
    // Outcomes that cannot be written are lost work: running more jobs would only run them
    // again once their leases expire. End the run (a worker starts a new one after --sleep).
    this.fatal ??= this.finisher.failed;
    if (this.fatal) this.state.enter("stopping");
    while (this.state.open && this.running.size < this.slots.count && this.claims.buffered > 0) this.start(this.claims.next()!);
    if (this.state.open) this.recovery.whenDue(() => this.pump());
    const want = this.claims.size(this.slots.count, this.running.size);
    if (this.state.is === "claiming" && want > 0) this.claim(want);
    const stopping = !this.state.open;
    const idle = this.running.size === 0 && this.claims.inFlight === 0 && (this.claims.buffered === 0 || stopping);
    const drained = this.state.is === "empty" && this.options.idleSleepSeconds === undefined;
    if (idle && (drained || stopping || this.claims.left() <= 0) && this.finished) {
      this.state.enter("ended"); // (a silent run stays silent: see RunState)
      this.finished();
    }
  }

  private claim(want: number): void {
    const endedBefore = this.ended;
    void this.claims
      .send(want, this.slots.count - this.running.size)
      .then((claim) => {
        this.claims.took(claim);
        if (claim.jobs.length >= want) return;
        // A job of ours ended while this claim was out: a type it found at its limit may have
        // room now, and that job's end has already asked for more (finding this claim out).
        if (claim.full.length > 0 && this.ended !== endedBefore) return;
        if (this.wokenMeanwhile) return void (this.wokenMeanwhile = false);
        this.state.enter("empty");
        const wait = lookAgainInMs({
          contended: this.claims.retryContended(claim),
          running: this.running.size,
          idleSleepSeconds: this.options.idleSleepSeconds,
        });
        if (wait === undefined) return;
        // An idle worker (nothing running, nothing held back) also watches for new rows meanwhile.
        if (this.running.size === 0 && wait === (this.options.idleSleepSeconds ?? 0) * 1000) {
          this.newRows.wait(
            wait,
            (ms, then) => this.later(ms, then),
            () => this.state.is === "empty",
            () => {
              this.lookAgain();
              this.pump();
            },
          );
        } else this.later(wait, () => this.lookAgain());
      })
      .catch((error) => {
        this.fatal ??= error;
      })
      .finally(() => this.pump());
  }

  private start(job: ClaimedJob): void {
    // Counted as running at once (before run()'s first await), so that pump() never starts more jobs than slots.
    this.running
      .run(job)
      .catch((error) => {
        this.fatal ??= error;
      })
      .finally(() => {
        // A slot opened: a type at its concurrency limit may have room again.
        this.ended++;
        this.lookAgain();
        this.pump();
      });
  }

  /** What runs beside the jobs until shutdown(): the heartbeat (leases, cancels) and the live log. */
  private startBackground(): void {
    this.logFlusher.start();
    this.heartbeat = startHeartbeat(this.deps, {
      handles: () => [...this.running.handles(), ...this.claims.handles()],
      onLost: (gone) => {
        this.claims.drop(gone, this.deps.db, this.bounds.logChars);
        this.running.stop(gone.ref, new JobStopped(gone.reason, gone.detail));
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
    this.state.enter("silent");
    this.fatal ??= new DatabaseSilentError(seconds, lastError);
    this.finisher.abandon(this.fatal);
    this.deps.db.abandon();
    this.pump();
  }

  private async shutdown(): Promise<void> {
    this.heartbeat?.stop();
    this.startMarks.stop();
    const conflicts = retriedConflicts() - this.conflictsBefore;
    this.deps.logger.debug(`${this.claims.sent} claim(s); ${conflicts} statement(s) retried after a deadlock or certification failure`, {
      claims: this.claims.sent,
      conflicts,
    });
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.logFlusher.stop();
    try {
      // A silent database gets no more questions (they would wait as long as the last ones):
      // what the run still holds is left to lease recovery.
      if (this.state.is === "silent") {
        const left = [`${this.finisher.unwritten} result(s) not recorded`, `${this.claims.buffered} claimed job(s) not started`];
        return this.deps.logger.warn(`left to lease recovery: ${left.join(" and ")}; they run again once their leases expire`);
      }
      await this.recovery.settled();
      await this.finisher.drain();
      const unstarted = await this.claims.giveBack(this.deps.db);
      if (unstarted) this.deps.logger.info(`put ${unstarted} claimed but unstarted job(s) back to pending`);
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
