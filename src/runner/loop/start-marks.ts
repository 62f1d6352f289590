import { errorMessage } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { Database } from "../../queue/db.js";
import type { StartedHandle } from "../../queue/fenced-update.js";
import type { ActiveJob } from "../attempt/active-job.js";
import { recordStarts } from "../../queue/record-starts.js";

/** A started job's attempt is recorded at most this long after it started (unless its outcome's write does it first). */
const GATHER_MS = 20;

/**
 * When an attempt is counted. The promise: a job is failed as "worker lost" only after it
 * has *started* max_attempts times, not after its claimers died max_attempts times. A run
 * claims ahead of its slots (claim-plan.ts), and a process killed with jobs in its buffer
 * used to have counted an attempt for each of them at the claim: three such kills and a job
 * failed as lost without having run once.
 *
 * How the table tells: while a row is `running`, `started_at IS NULL` means "attempt not
 * counted" (fenced-update.ts, COUNT_START). There is no column for the claim's time, so
 * "started_at older than the claim" could not be told from a renewal; NULL can, and a claim
 * ahead writes it in the same statement that takes the row.
 *
 * - **A claim for free slots** (its jobs start as soon as its reply is read) counts the
 *   attempts and sets started_at itself, as before: no extra write, and a job that kills its
 *   process at once has its attempt counted before it runs. That is what stops such a job from
 *   killing run after run for ever: a fresh run knows no durations, so it claims only for its
 *   free slots, and the requeued job is at the head of the queue.
 * - **A claim ahead** (more than the free slots: claimSize asked for jobs to buffer) leaves
 *   attempts alone and clears started_at. When such a job starts, its start is recorded by
 *   whichever write goes first: its outcome's (finishJobs counts an uncounted row), or this
 *   class's gathered UPDATE, GATHER_MS after the first unrecorded start, for the jobs still
 *   running then. With jobs short enough to be claimed ahead, nearly all end within that time,
 *   and their outcome counts them: over three runs of bench/throughput's 10,000 no-op jobs the
 *   gathered write went not once. Neither is a round trip per job, and nothing waits for either.
 *   Both write the instant the job began (its ActiveJob's startedAt), not their own: started_at
 *   is what the jobs page and the pick-up latency read (fenced-update.ts, countStart).
 * - **Recovery** (leases.ts) re-queues a row whose lease expired with started_at NULL without
 *   counting anything and whatever its type's onLost says: it never ran, or ran for less than
 *   GATHER_MS plus a round trip before its process died.
 * - **A give-back** (a run's end with jobs still buffered, a job lock held elsewhere, a stop)
 *   undoes the count only where one was made (UNCOUNT_START).
 *
 * What it costs: a job claimed ahead that kills its process within about GATHER_MS of its
 * start gets its attempt back, and could do so again in the next run. It stops there because
 * the next run is fresh: it claims for free slots until its own jobs end, and recovery puts
 * the job back with run_after = now at its old place in the queue, so the first claim takes it
 * counted. Fencing is unchanged: every one of these writes carries the claim's lock_token, so a
 * process that lost its lease cannot count an attempt on a row another run holds now. A row the
 * application set to attempts = 65535 meanwhile is not overflowed (LEAST), and a pending row
 * already at 65535 is refused by the claim as before.
 */
export class StartMarks {
  /** Started jobs whose start is not recorded yet, by ref. */
  private readonly waiting = new Map<number, StartedHandle>();
  private timer: NodeJS.Timeout | undefined;
  private writing = false;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  /** The job starts now; a job whose claim counted its attempt needs nothing. */
  started({ job, startedAt }: ActiveJob): void {
    if (job.counted || this.stopped) return;
    this.waiting.set(job.ref, { ref: job.ref, token: job.token, startedAt });
    this.timer ??= setTimeout(() => void this.write(), GATHER_MS);
  }

  /** The job has ended and its end has been handed on: that write records its start too. */
  ended(ref: number): void {
    this.waiting.delete(ref);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.clear();
  }

  private async write(): Promise<void> {
    this.timer = undefined;
    if (this.stopped || this.waiting.size === 0) return;
    // One write at a time: what starts meanwhile waits for the next.
    if (this.writing) return void (this.timer = setTimeout(() => void this.write(), GATHER_MS));
    const jobs = [...this.waiting.values()];
    this.waiting.clear();
    this.writing = true;
    try {
      await recordStarts(this.db, jobs);
    } catch (error) {
      // Not retried: the job's outcome counts the attempt when it is written, and if this
      // process dies first, recovery takes the job for unstarted, which only gives it one more run.
      if (!this.stopped) this.logger.warn(`could not record the start of ${jobs.length} job(s): ${errorMessage(error)}`);
    } finally {
      this.writing = false;
    }
  }
}
