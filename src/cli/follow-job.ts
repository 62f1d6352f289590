import { FatalError } from "../errors.js";
import { pollJob, type JobProgress } from "../queue/admin.js";
import { sleep, type Database } from "../queue/db.js";

/** Characters of already printed log text re-read with each poll, to notice that the log's front was cut. */
const ANCHOR = 64;
/** A cancelled job's process writes its last log shortly after the status changes; wait this long for it. */
const CANCEL_GRACE_MS = 10_000;

const FINAL = new Set(["complete", "failed", "cancelled"]);

/**
 * Prints the new part of a job's log each time it is polled. The offset is in characters as
 * the server counts them (CHAR_LENGTH, SUBSTRING). The log is capped by dropping its oldest
 * text, so a log that grew past the cap keeps its length while its content moves: each poll
 * therefore re-reads the last ANCHOR characters already printed and checks they are still
 * there; if not, the whole log is read once and printing resumes after them.
 */
class LogTail {
  private offset = 0;
  private anchor = "";

  /** The 1-based position to read the log from on the next poll. */
  get readFrom(): number {
    return this.offset - [...this.anchor].length + 1;
  }

  /** New text in `text` (the log read from readFrom); undefined when the whole log must be read. */
  next(logLength: number, text: string): string | undefined {
    if (logLength < this.offset || !text.startsWith(this.anchor)) return undefined;
    return this.advance(logLength, text.slice(this.anchor.length));
  }

  /** New text in the whole log, after the part already printed (or all of it, marked, if that part is gone). */
  resync(logLength: number, log: string): string {
    const at = this.anchor ? log.indexOf(this.anchor) : -1;
    const fresh = at >= 0 ? log.slice(at + this.anchor.length) : `[… the log's older text was dropped (it is capped) …]\n${log}`;
    return this.advance(logLength, fresh);
  }

  private advance(logLength: number, fresh: string): string {
    this.offset = logLength;
    this.anchor = [...(this.anchor + fresh)].slice(-ANCHOR).join("");
    return fresh;
  }
}

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
