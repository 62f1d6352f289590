import type { HeldJobLock, HeldLock, HostLocks } from "../../locks/host-locks.js";
import { identify, type ProcessId } from "../../locks/process-identity.js";
import type { Logger } from "../../logger.js";

/** A first attempt takes its job lock once it has run this long. */
const FIRST_ATTEMPT_LOCK_AFTER_MS = 200;

/** The job lock of one attempt, which records the process groups the attempt starts. */
export interface JobLock extends HeldLock {
  /** A subprocess started (the leader of its own group): recorded so a later attempt can end it. */
  addGroup(pid: number): void;
}

/**
 * The job's lock on this host (docs/architecture.md, "Locks on a host"), so that a job is
 * never run twice at once here. A twin can only exist if someone ran this job before: a retry, a
 * re-queued lost job, or an operator's --job. Those (`eager`) take the lock before they
 * start, and get undefined if a live process holds it, to give the job back; a dead holder's
 * lock is taken over at once, its subprocesses ended first (HostLocks.lockJob). A first
 * attempt has no twin (nobody else ever started it), so it takes the lock only once it has
 * run for FIRST_ATTEMPT_LOCK_AFTER_MS, or when it starts a subprocess, which must be
 * recorded at once: a twin can appear only after our lease expires (≥ 1 s), and by then we
 * hold the lock. Short jobs thus never touch the filesystem, which was most of a no-op job's
 * cost (bench/throughput: three calls per job, half the run's time).
 */
export async function holdJobLock(locks: HostLocks, logger: Logger, ref: number, eager: boolean): Promise<JobLock | undefined> {
  if (eager) {
    const lock = await locks.lockJob(ref);
    return lock && { name: lock.name, release: () => lock.release(), addGroup: (pid) => void lock.recordGroup(identify(pid)) };
  }
  let acquiring: Promise<HeldJobLock | undefined> | undefined;
  let held: HeldJobLock | undefined;
  const early: ProcessId[] = [];
  const acquire = () => {
    clearTimeout(timer);
    acquiring ??= locks.lockJob(ref).then(
      async (lock) => {
        if (!lock) logger.warn(`job ${ref}: another process on this host holds its job lock; this attempt runs on without it`, { ref });
        held = lock;
        for (const leader of early.splice(0)) await lock?.recordGroup(leader);
        return lock;
      },
      () => undefined,
    );
  };
  const timer = setTimeout(acquire, FIRST_ATTEMPT_LOCK_AFTER_MS);
  return {
    name: `job-${ref}`,
    addGroup: (pid) => {
      const leader = identify(pid);
      if (held) void held.recordGroup(leader);
      else {
        early.push(leader);
        acquire();
      }
    },
    release: async () => {
      clearTimeout(timer);
      await (await acquiring)?.release();
    },
  };
}
