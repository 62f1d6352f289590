import type { HeldLock, HostLocks } from "../locks/host-locks.js";
import type { Logger } from "../logger.js";

/** A first attempt takes its job lock once it has run this long. */
const FIRST_ATTEMPT_LOCK_AFTER_MS = 200;

/**
 * The job's lock on this host (DESIGN §4), so that a job is never run twice at once here.
 * A twin can only exist if someone ran this job before: a retry, a re-queued lost job, or
 * an operator's --job. Those (`eager`) take the lock before they start, and get undefined
 * if it is held, to give the job back. A first attempt has no twin (nobody else ever started
 * it), so it takes the lock only once it has run for FIRST_ATTEMPT_LOCK_AFTER_MS: a twin can
 * appear only after our lease expires (≥ 1 s), and by then we hold the lock. Short jobs
 * thus never touch the filesystem, which was most of a no-op job's cost (bench/throughput:
 * three calls per job, half the run's time).
 */
export async function holdJobLock(locks: HostLocks, logger: Logger, ref: number, eager: boolean): Promise<HeldLock | undefined> {
  if (eager) return locks.lockJob(ref);
  let acquiring: Promise<HeldLock | undefined> | undefined;
  const timer = setTimeout(() => {
    acquiring = locks.lockJob(ref).then(
      (lock) => {
        if (!lock) logger.warn(`job ${ref}: another process on this host holds its job lock`, { ref });
        return lock;
      },
      () => undefined,
    );
  }, FIRST_ATTEMPT_LOCK_AFTER_MS);
  return {
    name: `job-${ref}`,
    release: async () => {
      clearTimeout(timer);
      await (await acquiring)?.release();
    },
  };
}
