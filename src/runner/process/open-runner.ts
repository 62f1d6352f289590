import type { Config } from "../../config/schema.js";
import { HostLocks } from "../../locks/host-locks.js";
import type { Logger } from "../../logger.js";
import { KILL_GRACE_MS } from "../../job/subprocess.js";
import type { RunnerDeps } from "../runner-deps.js";

/** What a command hands a process driver (run, work): the runner's dependencies but what openRunner adds. */
export type RunnerBase = Omit<RunnerDeps, "locks" | "workerId">;

/**
 * Where a process that runs jobs starts: opens this host's locks and names the process, once.
 * `workerId` (host:pid) is what the rows it claims say in locked_by, and what `--clear-lock`
 * asks the host about.
 */
export async function openRunner(base: RunnerBase): Promise<RunnerDeps> {
  const locks = await openHostLocks(base.config, base.logger);
  return { ...base, locks, workerId: `${base.config.hostName}:${process.pid}` };
}

/** This host's slot and job locks, under config.lockDir. */
export async function openHostLocks(config: Config, logger: Logger): Promise<HostLocks> {
  const locks = new HostLocks({
    dir: config.lockDir,
    staleMs: config.lockStaleSeconds * 1000,
    host: config.hostName,
    onCompromised: (name, error) =>
      logger.warn(`lock ${name} was removed or went stale while held (${error.message}); the database lease still guards the job`),
    killGraceMs: KILL_GRACE_MS,
    onOrphansEnded: (ref, holder, groups) =>
      logger.warn(`job ${ref}: ended process group(s) ${groups.join(", ")}, left running by its attempt in ${holder.host}:${holder.pid}, which died`, { ref }),
  });
  await locks.prepare();
  return locks;
}
