/** Weight of a type's newest duration in its moving average. */
const DURATION_WEIGHT = 0.2;
/** Weight of the newest claim in the mix of types the claims bring. */
const MIX_WEIGHT = 0.5;
/** A type whose share of the mix fell below this is forgotten by it. */
const MIX_FLOOR = 0.001;

/**
 * How long a slot is busy with a job, by type, as this run has measured them: a moving average
 * per type, and the mix of types that recent claims brought. expectedMs() is what the next
 * claimed job should keep a slot busy for: Σ share(type) × mean(type). Undefined while some
 * type in the mix has not ended a job yet: an unknown type may be a long one, and claiming
 * ahead of it would keep jobs from hosts with free slots (claim-plan.ts).
 *
 * Per type rather than one average: when a claim brings a type whose jobs are long, the
 * expectation moves at once, not after enough of them have ended to pull a run-wide average.
 * The time measured is the slot's (from the job's start to the hand-over of its outcome), so
 * with short jobs it includes waiting for the event loop behind the other slots' jobs: what
 * the slots finish per unit of time, which is what the claim plan needs.
 */
export class JobDurations {
  private readonly meanMs = new Map<string, number>();
  private readonly mix = new Map<string, number>();

  /** A job of `type` kept its slot `ms` milliseconds. */
  ended(type: string, ms: number): void {
    const mean = this.meanMs.get(type);
    this.meanMs.set(type, mean === undefined ? ms : mean + (ms - mean) * DURATION_WEIGHT);
  }

  /** A claim brought these jobs (none: the mix is as it was). */
  claimed(jobs: ReadonlyArray<{ type: string }>): void {
    if (jobs.length === 0) return;
    const counts = new Map<string, number>();
    for (const { type } of jobs) counts.set(type, (counts.get(type) ?? 0) + 1);
    for (const [type, share] of this.mix) {
      const next = share * (1 - MIX_WEIGHT);
      if (next < MIX_FLOOR && !counts.has(type)) this.mix.delete(type);
      else this.mix.set(type, next);
    }
    for (const [type, n] of counts) this.mix.set(type, (this.mix.get(type) ?? 0) + (MIX_WEIGHT * n) / jobs.length);
  }

  /** What the next claimed job should keep a slot busy for, in ms; undefined when not known yet. */
  expectedMs(): number | undefined {
    if (this.mix.size === 0) return undefined;
    let total = 0;
    let weight = 0;
    for (const [type, share] of this.mix) {
      const mean = this.meanMs.get(type);
      if (mean === undefined) return undefined;
      total += share * mean;
      weight += share;
    }
    return total / weight;
  }
}
