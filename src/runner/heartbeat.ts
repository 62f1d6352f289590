import type { Config } from "../config/schema.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Database } from "../queue/db.js";
import { renewLeases, type JobHandle, type LostJob } from "../queue/finish.js";

/**
 * Renews the leases of a process's jobs every third of leaseSeconds (storing their progress
 * on the way), and reports the jobs that are no longer ours (cancelled, or recovered after
 * our lease lapsed) so that they can be stopped. A failed renewal is only logged: the next
 * one may succeed well before the lease runs out.
 */
export function startHeartbeat(
  deps: { config: Config; db: Database; logger: Logger },
  jobs: { handles(): Array<JobHandle & { progress: number | null }>; onLost(job: LostJob): void },
): NodeJS.Timeout {
  const every = Math.max(300, (deps.config.leaseSeconds * 1000) / 3);
  const beat = async () => {
    try {
      for (const gone of await renewLeases(deps.db, jobs.handles(), deps.config.leaseSeconds)) jobs.onLost(gone);
    } catch (error) {
      deps.logger.warn(`could not renew leases: ${errorMessage(error)}`);
    }
  };
  return setInterval(() => void beat(), every);
}
