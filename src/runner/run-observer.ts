import type { ClaimedJob } from "../queue/claimed-job.js";
import type { AttemptEnd } from "./attempt-end.js";

/** Who watches a run from outside (the terminal's progress display): told of each job's start, progress and end. */
export interface RunObserver {
  jobStarted(job: ClaimedJob): void;
  jobProgress(job: ClaimedJob, percent: number): void;
  jobEnded(job: ClaimedJob, end: AttemptEnd): void;
}
