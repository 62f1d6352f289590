import type { ClaimedJob } from "../../queue/claimed-job.js";
import type { JobHandle } from "../../queue/fenced-update.js";
import { JobLog } from "../../job/job-log.js";
import { StopSwitch } from "./stop-switch.js";

/** A job a runner has started: its stop switch, its progress and its log (written live by the run's LogFlusher). */
export interface ActiveJob extends JobHandle {
  job: ClaimedJob;
  stopSwitch: StopSwitch;
  progress: number | null;
  log: JobLog;
  startedAt: number;
}

/** A claimed job about to start: its stop switch, an empty log, the time it started. */
export function activate(job: ClaimedJob, logMaxChars: number): ActiveJob {
  return { job, ref: job.ref, token: job.token, stopSwitch: new StopSwitch(), progress: null, log: new JobLog(logMaxChars), startedAt: Date.now() };
}
