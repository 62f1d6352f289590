import { errorMessage } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { Database } from "../../queue/db.js";
import { appendJobLogs } from "../../queue/finish.js";
import type { JobHandle } from "../../queue/fenced-update.js";
import { logAppendBytes } from "../../queue/statement-size.js";
import type { JobLog } from "../../job/job-log.js";
import type { OutcomeBounds } from "../attempt/outcome-bounds.js";

/** How often the logs of long jobs are written while they run. */
const FLUSH_EVERY_MS = 2000;

export interface LiveJob extends JobHandle {
  log: JobLog;
  startedAt: number;
}

/**
 * Writes the logs of running jobs to their rows every 2 s, so that `show ID --follow` can tail
 * a long job (a zip, a video) while it runs. Only jobs running for 2 s or more: a short job's
 * log is written once, with its outcome, as before — a queue of no-op jobs pays nothing.
 * A job's final write must wait for an append in flight (`settled()`), or the two could land
 * in the wrong order. A failed append only loses that piece of the log; it is logged. The pieces
 * go in statements that fit under the server's max_allowed_packet (OutcomeBounds), one after another.
 */
export class LogFlusher {
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: { db: Database; logger: Logger; bounds: OutcomeBounds },
    private readonly running: () => Iterable<LiveJob>,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  /** Resolves when no append is in flight. */
  settled(): Promise<void> {
    return this.inFlight ?? Promise.resolve();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    if (this.inFlight) return;
    const due = Date.now() - FLUSH_EVERY_MS;
    const entries = [...this.running()]
      .filter((job) => job.startedAt <= due && job.log.hasUnwritten)
      .map((job) => ({ ref: job.ref, token: job.token, text: job.log.take() }));
    if (entries.length === 0) return;
    const { db, bounds } = this.deps;
    const append = async () => {
      for (const run of bounds.split(entries, logAppendBytes, Infinity)) await appendJobLogs(db, run, bounds.logChars);
    };
    this.inFlight = append()
      .catch((error) => this.deps.logger.warn(`could not write the live log of ${entries.length} running job(s): ${errorMessage(error)}`))
      .finally(() => (this.inFlight = undefined));
  }
}
