import type { HeldLock, HostLocks } from "../../locks/host-locks.js";

/**
 * The slots of one run (docs/architecture.md, "Locks on a host"): lock files slot-1 …
 * slot-N shared by every offline-jobs process on this host; a run holds some of them and
 * runs one job per slot it holds.
 */
export class RunSlots {
  private held: HeldLock[] = [];
  private closed = false;
  private toppingUp = false;

  constructor(
    private readonly locks: HostLocks,
    /** --max-jobs: how many slots the host has. */
    readonly total: number,
  ) {}

  get count(): number {
    return this.held.length;
  }

  /** Takes up to `want` more free slots; returns how many were taken. */
  async take(want: number): Promise<number> {
    if (this.closed || want <= 0) return 0;
    const taken = await this.locks.takeSlots(this.total, want, new Set(this.held.map((slot) => slot.name)));
    // Released while we were taking them (the run ended): give these back at once.
    if (this.closed) {
      await Promise.all(taken.map((slot) => slot.release()));
      return 0;
    }
    this.held.push(...taken);
    return taken.length;
  }

  /** Takes whatever slots are free now, up to the total; 0 while another top-up is under way. */
  async topUp(): Promise<number> {
    if (this.toppingUp) return 0;
    this.toppingUp = true;
    try {
      return await this.take(this.total - this.held.length);
    } finally {
      this.toppingUp = false;
    }
  }

  /** Gives every slot back; none are taken after this. */
  async release(): Promise<void> {
    this.closed = true;
    const held = this.held;
    this.held = [];
    await Promise.all(held.map((slot) => slot.release()));
  }
}
