import type { Database } from "../../queue/db.js";
import { newestRef } from "../../queue/newest-ref.js";

/**
 * How often a waiting worker asks whether a row was inserted: the pick-up latency of a job an
 * application INSERTs is at most about this long (half of it on average). Twice as often for
 * a while after rows arrived (an application that just added work often adds more), then the
 * idle pace: 5 primary-key lookups a second, beside the claim the worker makes every --sleep
 * for rows that became due without an INSERT (retries, run_at) and its restart-stamp check.
 */
export const NEW_ROW_POLL_MS = 200;
const BUSY_POLL_MS = 100;
const BUSY_FOR_MS = 30_000;

/**
 * Notices new rows between a worker's claims. A claim that came back empty leaves the worker
 * waiting --sleep seconds; in between, this reads the newest ref every NEW_ROW_POLL_MS, and
 * says so as soon as it is higher than the last one seen, so that the worker claims at once.
 * The last ref seen is kept from one wait to the next: a row inserted between a claim and the
 * first read of the next wait is then still noticed, at that first read.
 */
export class NewRowWatch {
  private lastSeen: string | null | undefined;
  private lastArrival = 0;
  /** Which wait is the current one: a newer wait ends the older. */
  private waits = 0;

  constructor(private readonly db: Database) {}

  /** True when a row newer than any seen before is in the table (the first call: true, to claim once more). */
  async arrived(): Promise<boolean> {
    const newest = await newestRef(this.db);
    const changed = this.lastSeen === undefined || newest !== this.lastSeen;
    if (changed && this.lastSeen !== undefined) this.lastArrival = Date.now();
    this.lastSeen = newest;
    return changed;
  }

  /** The pause before the next look: short while rows have been arriving, the idle pace after. */
  pollMs(now = Date.now()): number {
    return now - this.lastArrival < BUSY_FOR_MS ? BUSY_POLL_MS : NEW_ROW_POLL_MS;
  }

  /**
   * Waits up to `maxMs` for a new row, then calls `wake`. It looks every pollMs() through
   * `later` (the run's own timers, cleared when the run ends), and stops without waking once
   * `stillWaiting` says the run claims again for another reason, or a newer wait began.
   */
  wait(maxMs: number, later: (ms: number, then: () => void) => void, stillWaiting: () => boolean, wake: () => void): void {
    const generation = ++this.waits;
    const until = Date.now() + maxMs;
    const current = () => generation === this.waits && stillWaiting();
    const look = async () => {
      if (!current()) return;
      // A failed read wakes the run: its claim then meets the database's trouble the usual way.
      const arrived = Date.now() >= until || (await this.arrived().catch(() => true));
      if (!current()) return;
      if (arrived) wake();
      else later(Math.min(this.pollMs(), Math.max(0, until - Date.now())), () => void look());
    };
    later(Math.min(this.pollMs(), maxMs), () => void look());
  }
}
