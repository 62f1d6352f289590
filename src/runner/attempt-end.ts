import type { Outcome } from "../queue/finish.js";

/** How an attempt ended, as far as the database is concerned. */
export type AttemptEnd =
  | { kind: "outcome"; outcome: Outcome; durationMs: number }
  | { kind: "cancelled"; log: string; durationMs: number }
  | { kind: "lost"; detail: string; durationMs: number }
  /** Interrupted by a stop of this process (grace period over): back to pending, attempt not counted. */
  | { kind: "released"; detail: string; log: string; durationMs: number };
