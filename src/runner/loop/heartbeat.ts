import type { Config } from "../../config/schema.js";
import { errorMessage } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { ping, type Database } from "../../queue/db.js";
import { renewLeases, type LostJob } from "../../queue/leases.js";
import type { JobHandle } from "../../queue/fenced-update.js";

export interface Heartbeat {
  stop(): void;
}

/** The most a heartbeat stops its jobs before their leases would run out (half a beat for short leases): room to stop them and their subprocesses. */
const FENCE_MARGIN_MS = 5000;
/**
 * While it holds jobs, a process renews their leases at least this often, whatever
 * leaseSeconds is: the renewal is also how it learns that an operator cancelled one of them,
 * and `cancel` promises to reach a running job within about this long. An UPDATE of the
 * held rows by primary key every 2 s is nothing beside the jobs' own statements; a process
 * that holds no job only pings, at the lease's pace, so an idle worker costs no more.
 */
const CANCEL_REACH_MS = 2000;

/**
 * Renews the leases of a process's jobs every CANCEL_REACH_MS, or every third of
 * leaseSeconds when that is shorter (storing their progress on the way), and reports the jobs that are no longer ours (cancelled, or recovered after
 * our lease lapsed) so that they can be stopped. A failed renewal is only logged: the next
 * one may succeed well before the lease runs out.
 *
 * When none has succeeded for so long that the leases are about to run out on the server,
 * the heartbeat stops the jobs itself (reported as lost). Past that point the next run on any
 * host recovers them and runs them again, and whatever this process would write about them is
 * fenced out anyway: going on would only run them twice at once. That covers a database
 * that went away, and also a frozen server or a network partition, where a renewal never
 * returns at all (the timer does not wait for it, and no second renewal is stacked on it).
 *
 * A beat with no jobs to renew still asks the server for a sign of life (DO 1), so that the
 * same clock covers a run that holds nothing, such as one waiting on a claim that never
 * returns. When it runs out, `onSilent` hears for how long the database has said nothing:
 * the run gives up (run-queue.ts) rather than wait for hours on a socket nobody answers.
 */
export function startHeartbeat(
  deps: { config: Config; db: Database; logger: Logger },
  jobs: {
    handles(): Array<JobHandle & { progress: number | null }>;
    onLost(job: LostJob): void;
    /** No renewal or sign of life has come back for this many seconds (called once); `lastError`: the last one failed so. */
    onSilent(seconds: number, lastError?: string): void;
  },
): Heartbeat {
  const leaseMs = deps.config.leaseSeconds * 1000;
  const every = Math.max(300, leaseMs / 3);
  const margin = Math.min(every / 2, FENCE_MARGIN_MS);
  const tick = Math.min(every, CANCEL_REACH_MS);
  // When the last renewal that succeeded was sent: the server's leases run at least until
  // then plus leaseSeconds. (At first the start, which is before any claim of this run.)
  let renewedAt = Date.now();
  let renewing = false;
  /** Why the last renewal failed, while none has succeeded since. */
  let lastError: string | undefined;
  let fence: NodeJS.Timeout | undefined;
  let stopped = false;

  const armFence = (inMs: number) => {
    clearTimeout(fence);
    // A renewal that hung through a freeze may return after stop(): it must not re-arm.
    if (!stopped) fence = setTimeout(giveUp, Math.max(0, inMs));
  };
  const giveUp = () => {
    const held = jobs.handles();
    const seconds = Math.round((Date.now() - renewedAt) / 1000);
    if (held.length > 0) {
      deps.logger.warn(
        `could not renew leases for ${seconds} s: stopping ${held.length} job(s) before their leases run out, so that no other process runs them at the same time`,
      );
      const detail = `its lease could not be renewed for ${seconds} s (the database did not answer), so it was stopped before the lease ran out`;
      for (const { ref } of held) jobs.onLost({ ref, reason: "lost", detail });
    }
    stop();
    jobs.onSilent(seconds, lastError);
  };
  /** When the renewal (or sign of life) now out was sent. */
  let outSince = 0;
  const beat = async () => {
    // One still out: the database hears how long it has waited, and with another node to go
    // to, finds out whether this one still answers (node-failover.ts).
    if (renewing) return deps.db.stalled(Date.now() - outSince);
    const sentAt = (outSince = Date.now());
    const held = jobs.handles();
    // Holding nothing, only the sign of life is due, once a beat (not once a tick).
    if (held.length === 0 && sentAt - renewedAt < every - tick / 2 && lastError === undefined) return;
    renewing = true;
    try {
      const gone = held.length > 0 ? await renewLeases(deps.db, held, deps.config.leaseSeconds) : (await ping(deps.db), []);
      if (stopped) return;
      renewedAt = sentAt;
      lastError = undefined;
      armFence(renewedAt + leaseMs - margin - Date.now());
      for (const job of gone) jobs.onLost(job);
    } catch (error) {
      lastError = errorMessage(error);
      deps.logger.warn(`could not renew leases: ${lastError}`);
    } finally {
      renewing = false;
    }
  };

  const stop = () => {
    stopped = true;
    clearInterval(timer);
    clearTimeout(fence);
  };

  armFence(leaseMs - margin);
  const timer = setInterval(() => void beat(), tick);
  return { stop };
}
