import { performance } from "node:perf_hooks";
import type { ClaimedJob } from "../../queue/claimed-job.js";
import type { JobHandle } from "../../queue/fenced-update.js";
import { activate, type ActiveJob } from "../attempt/active-job.js";
import type { AttemptRun } from "../attempt/attempt.js";
import type { AttemptEnd } from "../attempt-end.js";
import { JobStopped } from "../attempt/job-stopped.js";
import type { RunnerDeps } from "../runner-deps.js";
import type { JobDurations } from "./job-durations.js";
import type { StartMarks } from "./start-marks.js";

/**
 * The code of an attempt (executing a job, its lock, its outcome: attempt/ and most of job/),
 * imported when a run starts its first job. A cron run that finds nothing due never needs it,
 * and it was a sixth of the modules such a run loaded.
 */
let attemptCode: typeof import("../attempt/attempt.js") | undefined;
async function loadAttemptCode(): Promise<typeof import("../attempt/attempt.js")> {
  return (attemptCode ??= await import("../attempt/attempt.js"));
}

/**
 * The jobs a run is running now, each in one of its slots: starts their attempts, records
 * their starts (StartMarks) and their slot times (JobDurations), and stops them when asked.
 * A job counts as running from start() until its outcome has been handed on, so that the run
 * never starts more jobs than slots, and never judges itself idle while a result is unsaved.
 */
export class RunningJobs {
  private readonly jobs = new Map<number, ActiveJob>();

  constructor(
    private readonly deps: RunnerDeps,
    private readonly attemptRun: AttemptRun,
    private readonly startMarks: StartMarks,
    private readonly durations: JobDurations,
  ) {}

  get size(): number {
    return this.jobs.size;
  }

  values(): IterableIterator<ActiveJob> {
    return this.jobs.values();
  }

  /** What the heartbeat renews: each job's claim and its progress. */
  handles(): Array<JobHandle & { progress: number | null }> {
    return [...this.jobs.values()].map((a) => ({ ref: a.job.ref, token: a.job.token, progress: a.progress }));
  }

  /**
   * Runs one attempt of `job`; resolves with its end once its outcome has been handed on (or
   * undefined: its job lock was held here, and it was given back). `operator`: run --job, whose
   * attempt takes its job lock before it starts, as a retry's does.
   */
  async run(job: ClaimedJob, operator = false): Promise<AttemptEnd | undefined> {
    const active = activate(job, this.attemptRun.bounds.logChars);
    this.jobs.set(job.ref, active);
    this.startMarks.started(active);
    try {
      const { runAttempt } = attemptCode ?? (await loadAttemptCode());
      // Timed from here: loading the attempt code is the run's once, not this job's.
      const started = performance.now();
      const end = await runAttempt(this.deps, this.attemptRun, active, job.attempt > 1 || operator);
      // The slot's time, not the handler's: what the claim plan needs (job-durations.ts).
      if (end) this.durations.ended(job.type, performance.now() - started);
      return end;
    } finally {
      this.jobs.delete(job.ref);
      this.startMarks.ended(job.ref);
    }
  }

  /** Stops one job (its lease was lost, or it was cancelled): its attempt ends with `why`. */
  stop(ref: number, why: JobStopped): void {
    this.jobs.get(ref)?.stopSwitch.stop(why);
  }

  /** The grace period of a stop is over: interrupt every running job (they go back to pending). */
  interruptAll(reason: string): void {
    for (const active of this.jobs.values()) active.stopSwitch.stop(new JobStopped("shutdown", reason));
  }
}
