import type { ClaimedJob } from "../queue/claimed-job.js";
import type { AttemptEnd } from "../runner/attempt-end.js";
import type { RunObserver } from "../runner/run-observer.js";
import type { StatusLine } from "./status-line.js";

const BAR_WIDTH = 24;
/** How often the number of due jobs (the run's "of m") is asked again. */
const RECOUNT_MS = 2000;

/**
 * The progress display of `run` and `work` on a terminal: the run as a whole ("n of m jobs")
 * and each running job's own progress (zip, video and other long jobs report it).
 *
 * m is the jobs this run has started plus those still due. The due count is asked again every
 * 2 s (applications keep adding jobs), and each job started since the count was asked came
 * out of it: counting those twice made a 13-job run show 5/18.
 */
export class RunProgress implements RunObserver {
  private done = 0;
  private failed = 0;
  private due: number | undefined;
  /** Jobs started so far, and how many of them had started when the due count was asked. */
  private started = 0;
  private startedAtCount = 0;
  private readonly running = new Map<number, { type: string; percent: number | undefined }>();
  private recount: NodeJS.Timeout | undefined;

  constructor(
    private readonly line: StatusLine,
    /** Due pending jobs this run could claim; undefined when unknown (a worker shows no total). */
    private readonly countDue?: () => Promise<number>,
  ) {}

  start(): this {
    if (this.countDue) {
      const ask = () => {
        const startedBefore = this.started;
        void this.countDue!().then(
          (due) => {
            this.due = due;
            this.startedAtCount = startedBefore;
            this.render();
          },
          () => undefined,
        );
      };
      ask();
      this.recount = setInterval(ask, RECOUNT_MS);
      this.recount.unref();
    }
    this.render();
    return this;
  }

  stop(): void {
    clearInterval(this.recount);
    this.line.clear();
  }

  jobStarted(job: ClaimedJob): void {
    this.running.set(job.ref, { type: job.type, percent: undefined });
    this.started++;
    this.render();
  }

  jobProgress(job: ClaimedJob, percent: number): void {
    const entry = this.running.get(job.ref);
    if (entry) entry.percent = percent;
    this.render();
  }

  jobEnded(job: ClaimedJob, end: AttemptEnd): void {
    this.running.delete(job.ref);
    this.done++;
    if (end.kind === "outcome" && end.outcome.kind === "failed") this.failed++;
    this.render();
  }

  private render(): void {
    const jobs = [...this.running]
      .slice(0, 3)
      .map(([ref, { type, percent }]) => `#${ref} ${type}${percent === undefined ? "" : ` ${bar(percent / 100, 10)} ${percent}%`}`);
    const more = this.running.size > 3 ? ` +${this.running.size - 3}` : "";
    const failed = this.failed ? ` (${this.failed} failed)` : "";
    if (this.due === undefined) {
      this.line.show(`${this.done} job(s) done${failed} · ${this.running.size ? `running ${jobs.join(", ")}${more}` : "waiting for jobs"}`);
      return;
    }
    // Jobs claimed but not started yet are in neither count for a moment; they appear as they start.
    const stillDue = Math.max(0, this.due - (this.started - this.startedAtCount));
    const total = this.started + stillDue;
    const whole = total === 0 ? 1 : this.done / total;
    this.line.show(`${bar(whole, BAR_WIDTH)} ${this.done}/${total} jobs${failed}${jobs.length ? ` · ${jobs.join(", ")}${more}` : ""}`);
  }
}

function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
}
