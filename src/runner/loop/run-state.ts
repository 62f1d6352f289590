/**
 * Where a run is. Every change of state goes through RunState.enter, against this table:
 *
 * - "claiming": claims as slots free up and the buffer runs low (claimSize);
 * - "empty": the last claim came back short, so the queue looks empty: no claim until something
 *   says to look again (a timer, a job of this run ending, a recovery that re-queued jobs);
 * - "stopping": claims nothing more; the buffer goes back to pending and the run ends once its
 *   running jobs have (stop(): a signal, --max-time, maintenance; or outcomes that cannot be written);
 * - "silent": the database stopped answering (giveUpOnDatabase): as stopping, and nothing more is
 *   asked of it, not even at shutdown; what the run holds is left to lease recovery. Final;
 * - "ended": the run has decided to end; pump() does nothing more.
 */
export type RunPhase = "claiming" | "empty" | "stopping" | "silent" | "ended";

const NEXT: Record<RunPhase, readonly RunPhase[]> = {
  claiming: ["empty", "stopping", "silent", "ended"],
  empty: ["claiming", "stopping", "silent", "ended"],
  stopping: ["silent", "ended"],
  // The silence can still be noticed after the run decided to end: shutdown must then not ask.
  ended: ["silent"],
  silent: [],
};

/** The state of one QueueRunner (see RunPhase). */
export class RunState {
  private phase: RunPhase = "claiming";

  get is(): RunPhase {
    return this.phase;
  }

  /** Claims may still be made, now or once the run looks again ("claiming", "empty"). */
  get open(): boolean {
    return this.phase === "claiming" || this.phase === "empty";
  }

  /** Moves to `next` when the table allows it from here; says whether it did. */
  enter(next: RunPhase): boolean {
    if (!NEXT[this.phase].includes(next)) return false;
    this.phase = next;
    return true;
  }
}
