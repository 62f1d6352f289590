import type { Config } from "../config/schema.js";
import type { Registry } from "../handlers/registry.js";
import type { HostLocks } from "../locks/host-locks.js";
import type { Logger } from "../logger.js";
import type { Database } from "../queue/db.js";
import type { RunObserver } from "./run-observer.js";

/** What a QueueRunner is asked to do (the run and work flags)… */
export interface RunOptions {
  /** --max-jobs: slots on this host, shared with every other offline-jobs process here. */
  maxJobs: number;
  /** --limit: claim at most this many jobs in this run. */
  limit?: number;
  /** --max-time: stop claiming after this many seconds (running jobs finish). */
  maxTimeSeconds?: number;
  /** --type: only these types (of those this process has handlers for). */
  types?: string[];
  /**
   * `work`: when nothing is due, look again after this many seconds instead of ending; the
   * run then ends only when stop() is called (or --limit is reached).
   */
  idleSleepSeconds?: number;
}

/**
 * …and what it works with: the one set of dependencies of the runner, from the process
 * drivers (run, work) down to one attempt. Made once per process by openRunner
 * (process/open-runner.ts), which also names this process (`workerId`, host:pid: what a
 * claimed row's locked_by says).
 */
export interface RunnerDeps {
  config: Config;
  db: Database;
  registry: Registry;
  logger: Logger;
  locks: HostLocks;
  workerId: string;
  observer?: RunObserver;
}
