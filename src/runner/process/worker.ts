import { errorMessage } from "../../errors.js";
import { listenForWakes } from "../../locks/wake.js";
import { isConnectionError } from "../../queue/db.js";
import { readState, RESTART_STAMP } from "../../queue/state.js";
import type { GracefulStop } from "./graceful-stop.js";
import { maintenanceReason } from "./maintenance.js";
import { QueueRunner } from "../loop/run-queue.js";
import type { RunnerDeps, RunOptions } from "../runner-deps.js";
import type { RunCounts } from "../../metrics/run-counts.js";
import { afterRun, type RunTally } from "./after-run.js";
import { openRunner, type RunnerBase } from "./open-runner.js";

export interface WorkOptions extends Pick<RunOptions, "maxJobs" | "types"> {
  /** --sleep: seconds between polls while nothing is due (work is looked for again at once while there is some). */
  sleepSeconds: number;
  /** --max-time: stop (after the running jobs) once the worker has run this long. */
  maxTimeSeconds?: number;
  /** --memory: stop (after the running jobs) once the process's resident memory exceeds this. */
  memoryMb?: number;
  /** --stop-when-empty: exit once nothing is due, as a cron run does. */
  stopWhenEmpty?: boolean;
  /** --force: work even in maintenance mode. */
  force?: boolean;
  /** How the worker is told to stop (signals, limits, restart stamp); created by the caller. */
  stop: GracefulStop;
}

export interface WorkReport {
  counts: RunCounts;
  /** Why the worker ended: "queue empty", "SIGTERM", "restart requested", "--max-time reached", … */
  reason: string;
}

/** How often a worker looks at the restart stamp, its memory and maintenance mode. */
const WATCH_MS = 2000;
/**
 * How often a worker does what a cron run does once, at its start or end: housekeeping
 * (expired downloads, retention; each throttled across hosts on its own) and metrics.textfile.
 */
const PERIODIC_MS = 60_000;

/**
 * `offline-jobs work`: a long-lived worker (systemd, Supervisor). One QueueRunner in worker
 * mode does the claiming; this loop adds what a daemon needs around it: waiting for a free
 * slot, maintenance mode, the limits (--max-time, --memory), `offline-jobs restart`, and
 * surviving a database outage (wait and try again; jobs in flight are recovered by lease).
 * `tally` gathers what it did, for the metrics textfile that it writes every minute and that
 * the caller writes once it has ended, or failed (afterRun).
 */
export async function runWorker(base: RunnerBase, options: WorkOptions, tally: RunTally): Promise<WorkReport> {
  const deps = await openRunner(base);
  const { config, logger, db, workerId } = deps;
  const { stop } = options;
  const { counts } = tally;
  const sleepMs = options.sleepSeconds * 1000;
  const restartBaseline = await readState(db, RESTART_STAMP);
  const limits = new LimitWatch(options, restartBaseline, deps);
  const deadline =
    options.maxTimeSeconds === undefined ? undefined : setTimeout(() => stop.request("--max-time reached", "finish"), options.maxTimeSeconds * 1000);
  deadline?.unref();
  let waitingFor: string | undefined;
  const wait = async (why: string) => {
    if (why !== waitingFor) logger.info(`${why}; looking again every ${options.sleepSeconds} s`);
    waitingFor = why;
    await stop.sleep(sleepMs);
  };
  logger.info(`worker ${workerId} started with up to ${options.maxJobs} slot(s)`);
  const disabled = deps.registry.disabledWanted(options.types);
  if (disabled) logger.warn(disabled);
  tally.begin();
  // add and enqueue() on this host wake a waiting worker at once (src/locks/wake.ts).
  let active: QueueRunner | undefined;
  const wakes = await listenForWakes(config.lockDir, () => active?.wake()).catch((error: unknown) => {
    logger.warn(`no wake-ups from add on this host (${errorMessage(error)}); new jobs are noticed by polling`);
    return undefined;
  });
  const periodic = setInterval(() => void afterRun(deps, tally, { housekeeping: true }), PERIODIC_MS);
  try {
    while (!stop.reason) {
      await limits.check(stop);
      if (stop.reason) break;
      const maintenance = options.force ? undefined : maintenanceReason(config);
      if (maintenance) {
        await wait(`maintenance mode (${maintenance}): claiming nothing`);
        continue;
      }
      const runner =
        (active =
        tally.current =
          new QueueRunner(deps, {
            maxJobs: options.maxJobs,
            types: options.types,
            idleSleepSeconds: options.stopWhenEmpty ? undefined : options.sleepSeconds,
          }));
      if ((await runner.takeSlots(options.maxJobs)) === 0) {
        await wait(`all ${options.maxJobs} job slot(s) on this host are busy`);
        continue;
      }
      waitingFor = undefined;
      stop.attach(runner);
      // Whether this runner ended because the queue was empty (rather than maintenance or an outage).
      let drained = true;
      const watch = setInterval(() => {
        void limits.check(stop);
        void runner.topUpSlots().catch((error) => logger.warn(`could not take more slots: ${errorMessage(error)}`));
        const now = options.force ? undefined : maintenanceReason(config);
        if (now) {
          drained = false;
          runner.stop(`maintenance mode (${now})`);
        }
      }, WATCH_MS);
      try {
        await runner.drain();
      } catch (error) {
        if (!isConnectionError(error)) throw error;
        drained = false;
        logger.warn(`database unreachable (${errorMessage(error)}); trying again in ${options.sleepSeconds} s`);
        await stop.sleep(sleepMs);
      } finally {
        clearInterval(watch);
        stop.detach(runner);
        tally.add(runner.counts);
        tally.current = undefined;
      }
      if (options.stopWhenEmpty && drained && !stop.reason) return { counts, reason: "queue empty" };
    }
    return { counts, reason: stop.reason };
  } finally {
    clearTimeout(deadline);
    clearInterval(periodic);
    await wakes?.close();
  }
}

/** The worker's own limits and the restart stamp, checked every WATCH_MS and between runners. */
class LimitWatch {
  private checking = false;

  constructor(
    private readonly options: WorkOptions,
    private readonly restartBaseline: string | null,
    private readonly deps: RunnerDeps,
  ) {}

  async check(stop: GracefulStop): Promise<void> {
    if (this.checking || stop.reason) return;
    this.checking = true;
    try {
      const rssMb = process.memoryUsage.rss() / 1024 / 1024;
      if (this.options.memoryMb !== undefined && rssMb > this.options.memoryMb) {
        stop.request(`memory limit: ${Math.round(rssMb)} MB used, --memory is ${this.options.memoryMb} MB`, "finish");
        return;
      }
      const stamp = await readState(this.deps.db, RESTART_STAMP);
      if (stamp !== this.restartBaseline) stop.request(`restart requested (${stamp})`, "finish");
    } catch (error) {
      this.deps.logger.debug(`could not read the restart stamp: ${errorMessage(error)}`);
    } finally {
      this.checking = false;
    }
  }
}
