import type { Claim } from "../../queue/claim.js";
import { claimWithRetries } from "../../queue/claim-retry.js";
import { ClaimCursor } from "../../queue/claim-cursor.js";
import type { ClaimedJob } from "../../queue/claimed-job.js";
import { recordCancelled } from "../../queue/finish.js";
import { releaseJobs, type LostJob } from "../../queue/leases.js";
import type { JobHandle } from "../../queue/fenced-update.js";
import type { RunnerDeps } from "../runner-deps.js";
import { claimSize } from "./claim-plan.js";
import { JobDurations } from "./job-durations.js";

/** Claims in a row that found a limited type's slot row held, before the run stops asking at once. */
const MAX_CONTENDED_RETRIES = 20;

/**
 * The claims of one run and their bookkeeping: the claims in flight and the jobs they asked
 * for (what claimSize counts as already ahead), the claimed jobs waiting for a slot (the
 * buffer), the jobs claimed so far (--limit), and the claims in a row that found a limited
 * type's slot row held by another claimer.
 */
export class RunClaims {
  /** Claims in flight, and how many jobs they asked for together. */
  inFlight = 0;
  private asked = 0;
  /** Claimed jobs not started yet: they wait for a slot. */
  private buffer: ClaimedJob[] = [];
  private claimed = 0;
  private contendedRetries = 0;
  /** How long this run's jobs keep a slot, by type, and the mix of types its claims bring. */
  readonly durations = new JobDurations();
  /** Some selected type has a concurrency limit (its claims go one at a time). */
  private readonly limited: boolean;
  private readonly cursor = new ClaimCursor();

  constructor(
    private readonly deps: RunnerDeps,
    private readonly types: string[],
    private readonly limits: Record<string, number>,
    /** --limit: claim at most this many jobs in this run. */
    private readonly limit: number | undefined,
  ) {
    this.limited = Object.keys(limits).length > 0;
  }

  /** How many jobs to claim now (0: none), with `slots` held and `running` jobs in them (claimSize). */
  size(slots: number, running: number): number {
    return claimSize({
      slots,
      running,
      buffered: this.buffer.length,
      claiming: this.inFlight,
      asked: this.asked,
      expectedMs: this.durations.expectedMs(),
      prefetchFactor: this.deps.config.prefetchFactor,
      limited: this.limited,
      limitLeft: this.left(),
    });
  }

  /** Jobs left before --limit, counting those asked for (Infinity without one). */
  left(): number {
    return this.limit === undefined ? Infinity : this.limit - this.claimed - this.asked;
  }

  /** Claims sent by this run (its debug summary). */
  sent = 0;

  /**
   * Asks the queue for up to `want` jobs; the claim counts as in flight until it returns. With
   * `free` slots free now: a claim that, with what is already ahead, asks for more than those
   * is a claim ahead, whose attempts are counted as each job starts (start-marks.ts).
   */
  send(want: number, free: number): Promise<Claim> {
    const ahead = this.buffer.length + this.asked + want > free;
    this.sent++;
    this.inFlight++;
    this.asked += want;
    return claimWithRetries(this.deps.db, {
      types: this.types,
      limits: this.limits,
      max: want,
      workerId: this.deps.workerId,
      leaseSeconds: this.deps.config.leaseSeconds,
      cursor: this.cursor,
      ahead,
    }).finally(() => {
      this.inFlight--;
      this.asked -= want;
    });
  }

  /** The jobs a claim took are the run's: counted, and buffered until a slot is free. */
  took(claim: Claim): void {
    this.claimed += claim.jobs.length;
    this.buffer.push(...claim.jobs);
    this.durations.claimed(claim.jobs);
    // The retries below are for claims that found nothing but a held slot row in a row;
    // any progress starts the count again (a limited type's claims are always short).
    if (claim.jobs.length > 0 || claim.contended.length === 0) this.contendedRetries = 0;
  }

  /** The claim left a limited type out because another claimer held its slot row, and retries remain. */
  retryContended(claim: Claim): boolean {
    return claim.contended.length > 0 && this.contendedRetries++ < MAX_CONTENDED_RETRIES;
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /** The next buffered job, to start now. */
  next(): ClaimedJob | undefined {
    return this.buffer.shift();
  }

  /** The buffered jobs, whose leases the heartbeat renews as it does the running ones'. */
  handles(): Array<JobHandle & { progress: null }> {
    return this.buffer.map((j) => ({ ref: j.ref, token: j.token, progress: null }));
  }

  /** A buffered job is no longer ours (cancelled, or recovered elsewhere): it will not start. */
  drop(gone: LostJob, db: RunnerDeps["db"], logChars: number): void {
    const unstarted = this.buffer.find((j) => j.ref === gone.ref);
    if (!unstarted) return;
    this.buffer = this.buffer.filter((j) => j !== unstarted);
    // Cancelled before it started here: nobody else will record its end.
    if (gone.reason === "cancelled") void recordCancelled(db, unstarted, "", logChars).catch(() => undefined);
  }

  /** Puts the buffered jobs back to pending (the run ends); returns how many there were. */
  async giveBack(db: RunnerDeps["db"]): Promise<number> {
    const unstarted = this.buffer;
    this.buffer = [];
    if (unstarted.length) await releaseJobs(db, unstarted);
    return unstarted.length;
  }
}
