import { FatalError } from "../errors.js";
import { pollJob, type JobProgress } from "../queue/admin.js";
import { sleep, type Database } from "../queue/db.js";
import { LogTail } from "../log-tail.js";

/** A cancelled job's process writes its last log shortly after the status changes; wait this long for it. */
const CANCEL_GRACE_MS = 10_000;

const FINAL = new Set(["complete", "failed", "cancelled"]);

/**
 * `show --follow`: prints the job's log as it grows and its state changes (status, attempt,
 * progress) until it has ended, then returns its last state. Runners write a job's log to the
 * row when an attempt ends, so while an attempt runs its progress is what moves.
 */
export async function followJob(db: Database, ref: number, write: (text: string) => void, intervalMs = 500): Promise<JobProgress> {
  const tail = new LogTail();
  let atLineStart = true;
  const print = (text: string) => {
    if (!text) return;
    write(text);
    atLineStart = text.endsWith("\n");
  };
  const note = (text: string) => print(`${atLineStart ? "" : "\n"}[job ${ref}: ${text}]\n`);
  let lastState = "";
  let lastProgress: number | null = null;
  let cancelledAt: number | undefined;
  for (;;) {
    let state = await pollJob(db, ref, tail.readFrom);
    if (!state) throw new FatalError(`job ${ref} no longer exists`);
    let fresh = tail.next(state.log_length, state.log_from);
    if (fresh === undefined) {
      state = (await pollJob(db, ref, 1)) ?? state;
      fresh = tail.resync(state.log_length, state.log_from);
    }
    print(fresh);
    if (FINAL.has(state.status)) {
      if (state.status === "cancelled" && !state.released) cancelledAt ??= Date.now();
      // The caller prints the final status line.
      if (state.released || Date.now() - cancelledAt! > CANCEL_GRACE_MS) {
        if (!atLineStart) write("\n");
        return state;
      }
    }
    const description = describeState(state);
    if (description !== lastState) {
      note(description);
      lastState = description;
      lastProgress = null;
    }
    if (state.status === "running" && state.progress !== null && state.progress !== lastProgress) {
      note(`${state.progress}%`);
      lastProgress = state.progress;
    }
    await sleep(intervalMs);
  }
}

function describeState(state: JobProgress): string {
  const attempt = `attempt ${state.attempts}${state.max_attempts !== null ? ` of ${state.max_attempts}` : ""}`;
  switch (state.status) {
    case "running":
      return `running, ${attempt} on ${state.locked_by ?? "?"}`;
    case "pending":
      return state.attempts > 0 ? `pending again after ${attempt} failed: ${state.error || "no error was recorded"}` : "pending, waiting for a worker";
    case "cancelled":
      return `cancelled; waiting for ${state.locked_by ?? "its process"} to stop it`;
    default:
      return state.status;
  }
}
