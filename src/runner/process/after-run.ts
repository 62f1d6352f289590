import { emptyCounts, type RunCounts } from "../../metrics/run-counts.js";
import { runHousekeeping } from "../loop/housekeeping.js";
import type { RunnerDeps } from "../runner-deps.js";

/**
 * What a run has done so far, for the metrics: when it began, the counts of its runners that
 * have ended, and the runner at work now (a worker starts one after another), whose counts
 * are added once it ends.
 */
export class RunTally {
  started: number | undefined;
  readonly counts: RunCounts = emptyCounts();
  current: { readonly counts: RunCounts } | undefined;

  /** The run has begun (a worker: once it has its locks and the restart stamp); before that, afterRun writes nothing. */
  begin(at = Date.now()): this {
    this.started = at;
    return this;
  }

  add(more: RunCounts): this {
    for (const key of Object.keys(this.counts) as Array<keyof RunCounts>) this.counts[key] += more[key];
    return this;
  }
}

/**
 * What follows a run, for `run` and `work` alike (and in a worker, every minute): housekeeping
 * when asked (a run did it before it claimed), then the metrics textfile, with the run's
 * figures as they are once that is over. Never throws.
 */
export async function afterRun(deps: Pick<RunnerDeps, "config" | "db" | "logger">, tally: RunTally, options: { housekeeping?: boolean } = {}): Promise<void> {
  if (options.housekeeping) await runHousekeeping(deps.config, deps.db, deps.logger);
  if (tally.started === undefined) return;
  const counts = { ...tally.counts };
  for (const key of Object.keys(counts) as Array<keyof RunCounts>) counts[key] += tally.current?.counts[key] ?? 0;
  // Loaded only when a textfile is configured: a cron run without one need not load the metrics code.
  if (!deps.config.metrics.textfile) return;
  const { writeMetricsTextfile } = await import("../../metrics/textfile.js");
  await writeMetricsTextfile(deps.config, deps.db, { durationSeconds: (Date.now() - tally.started) / 1000, counts }, deps.logger);
}
