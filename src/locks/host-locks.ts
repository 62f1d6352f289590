import fs from "node:fs/promises";
import path from "node:path";
import lockfile from "proper-lockfile";
import { readJobOwner, sameHolder, writeJobOwner, type JobOwner } from "./job-owner.js";
import { endProcessGroup, identify, isRunning, type ProcessId } from "./process-identity.js";

/**
 * Locks that bound concurrency on one host (docs/architecture.md, "Locks on a host"), on
 * proper-lockfile: a lock is a directory created with mkdir (atomic, unlike check-then-write
 * files) whose mtime its holder refreshes; one not refreshed for `staleMs` belongs to a dead
 * process and is taken over. They only bound work on this host: the database lease is what
 * prevents a double run.
 *
 *   slot-1.lock … slot-N.lock   --max-jobs slots shared by every offline-jobs process here
 *   slot-K.owner                who holds slot K (host, pid), for --clear-lock's report
 *   job-REF.lock                held while job REF runs here
 *   job-REF.owner               its holder and the process groups its attempt started (JobOwner)
 *   job-REF.takeover.lock       held for a moment while job-REF.lock changes hands
 */

export interface LockOwner {
  host: string;
  pid: number;
  since: string;
}

export interface HeldLock {
  name: string;
  release(): Promise<void>;
}

export interface ClearedLock {
  name: string;
  /** For job locks, the job's ref. */
  ref?: number;
  owner?: LockOwner;
  /** Seconds since the holder last refreshed it. */
  ageSeconds: number;
  /** Process groups of a dead holder's job, ended before its lock was removed. */
  endedGroups: number[];
}

export interface HostLocksOptions {
  dir: string;
  staleMs: number;
  host: string;
  /** A held lock was removed or went stale under us (e.g. --clear-lock by another process). */
  onCompromised?: (name: string, error: Error) => void;
  /** Between SIGTERM and SIGKILL to a dead holder's process groups. */
  killGraceMs?: number;
  /** A dead holder's process groups were ended (their leaders' pids). */
  onOrphansEnded?: (ref: number, holder: JobOwner, groups: number[]) => void;
}

/** A job lock, which also records the process groups its attempt starts. */
export interface HeldJobLock extends HeldLock {
  /** Adds a subprocess group (its leader, identified when it started) to job-REF.owner. */
  recordGroup(leader: ProcessId): Promise<void>;
}

export class HostLocks {
  constructor(private readonly options: HostLocksOptions) {}

  async prepare(): Promise<void> {
    await fs.mkdir(this.options.dir, { recursive: true });
  }

  /** Takes up to `want` free slots among slot-1..slot-`total`, skipping `held`. Never waits. */
  async takeSlots(total: number, want: number, held: ReadonlySet<string> = new Set()): Promise<HeldLock[]> {
    const taken: HeldLock[] = [];
    for (let n = 1; n <= total && taken.length < want; n++) {
      const name = `slot-${n}`;
      if (held.has(name)) continue;
      const lock = await this.tryLock(name);
      if (!lock) continue;
      const owner: LockOwner = { host: this.options.host, pid: process.pid, since: new Date().toISOString() };
      await fs.writeFile(this.file(`${name}.owner`), JSON.stringify(owner)).catch(() => undefined);
      taken.push({
        name,
        release: async () => {
          await fs.rm(this.file(`${name}.owner`), { force: true });
          await lock.release();
        },
      });
    }
    return taken;
  }

  /**
   * The lock held while job `ref` runs on this host; undefined if a live process holds it.
   * A holder recorded as dead (SIGKILLed, crashed) has its lock taken over at once, after
   * the process groups its attempt left running are ended: two attempts of one job never
   * run side by side here (SECURITY.md, Subprocesses). A lock without a record (a holder
   * still writing it) is left to proper-lockfile's staleness.
   */
  async lockJob(ref: number): Promise<HeldJobLock | undefined> {
    const name = `job-${ref}`;
    const ownerFile = this.file(`${name}.owner`);
    const previous = await readJobOwner(ownerFile);
    const dead = previous && this.isDeadHere(previous) ? previous : undefined;
    // Before anything changes hands: the orphans must be gone before the job runs again.
    if (dead) await this.endOrphanGroups(ref, dead);
    const held = await this.underTakeoverLock(name, async () => {
      let lock = await this.tryLock(name);
      if (!lock && dead) {
        const now = await readJobOwner(ownerFile);
        if (!now || !sameHolder(now, dead)) return undefined; // taken over by someone else meanwhile
        await fs.rm(this.file(`${name}.lock`), { recursive: true, force: true });
        lock = await this.tryLock(name);
      }
      if (!lock) return undefined;
      const own = identify(process.pid);
      const owner: JobOwner = { host: this.options.host, pid: own.pid, start: own.start, since: new Date().toISOString(), groups: [] };
      // Unwritten (a full disk), no record beats a dead holder's, which would make ours look dead.
      await writeJobOwner(ownerFile, owner).catch(() => fs.rm(ownerFile, { force: true }).catch(() => undefined));
      return { lock, owner };
    });
    if (!held) return undefined;
    const { lock, owner } = held;
    let writes = Promise.resolve();
    let released = false;
    return {
      name,
      recordGroup: (leader) => {
        // A handler that ignored its stop may start one after the release: the record is someone else's by then.
        if (released) return Promise.resolve();
        writes = writes
          .catch(() => undefined)
          .then(async () => {
            // Groups whose leader has ended were killed with it (see runSubprocess): only live ones are kept.
            owner.groups = [...owner.groups.filter(isRunning), leader];
            await writeJobOwner(ownerFile, owner);
          });
        return writes.catch(() => undefined);
      },
      release: async () => {
        released = true;
        await writes.catch(() => undefined);
        const current = await readJobOwner(ownerFile);
        if (current && sameHolder(current, owner)) await fs.rm(ownerFile, { force: true });
        await lock.release();
      },
    };
  }

  /** Who holds job `ref`'s lock on this host, as recorded. */
  jobHolder(ref: number): Promise<JobOwner | undefined> {
    return readJobOwner(this.file(`job-${ref}.owner`));
  }

  /**
   * Lease recovery's look at this host: ends the process groups of every job lock whose
   * recorded holder is dead, so that an orphaned subprocess stops even if its job is retried
   * on another host, or never; then removes that lock and its record, which nobody else would.
   */
  async endOrphans(): Promise<void> {
    const entries = await fs.readdir(this.options.dir).catch(() => [] as string[]);
    const owners = entries.map((entry) => /^job-(\d+)\.owner$/.exec(entry)).filter((m) => m !== null);
    await Promise.all(
      owners.map(async ([entry, ref]) => {
        const dead = await readJobOwner(this.file(entry));
        if (!dead || !this.isDeadHere(dead)) return;
        await this.endOrphanGroups(Number(ref), dead);
        if (dead.groups.some((leader) => isRunning(leader))) return; // still there: keep the record for the next try
        await this.underTakeoverLock(`job-${ref}`, async () => {
          const now = await readJobOwner(this.file(entry));
          if (!now || !sameHolder(now, dead)) return;
          await fs.rm(this.file(`job-${ref}.lock`), { recursive: true, force: true });
          await fs.rm(this.file(entry), { force: true });
        });
      }),
    );
  }

  private isDeadHere(owner: JobOwner): boolean {
    return owner.host === this.options.host && !isRunning(owner);
  }

  private async endOrphanGroups(ref: number, holder: JobOwner): Promise<number[]> {
    const grace = this.options.killGraceMs ?? 3000;
    const ended = await Promise.all(holder.groups.map(async (leader) => ((await endProcessGroup(leader, grace)) ? leader.pid : undefined)));
    const pids = ended.filter((pid) => pid !== undefined);
    if (pids.length) this.options.onOrphansEnded?.(ref, holder, pids);
    return pids;
  }

  /**
   * Runs `change` holding job-REF.takeover: taking over a dead holder's lock (read its record,
   * remove the lock, take it, write ours) must not interleave with another process doing the
   * same, which could otherwise remove a lock just taken whose record is not written yet.
   */
  private async underTakeoverLock<T>(name: string, change: () => Promise<T | undefined>): Promise<T | undefined> {
    const takeover = await this.tryLock(`${name}.takeover`, 10);
    if (!takeover) return undefined;
    try {
      return await change();
    } finally {
      await takeover.release();
    }
  }

  /** --clear-lock: removes every lock in the directory, alive holder or not, and says what it removed. */
  async clearAll(): Promise<ClearedLock[]> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.options.dir);
    } catch {
      return [];
    }
    const cleared: ClearedLock[] = [];
    for (const entry of entries.filter((e) => e.endsWith(".lock")).sort()) {
      const name = entry.slice(0, -".lock".length);
      const stat = await fs.stat(this.file(entry)).catch(() => undefined);
      const owner = await this.readOwner(name);
      const ref = /^job-(\d+)$/.exec(name)?.[1];
      // A dead holder's subprocesses go with its lock: the job may run again at once.
      const record = ref ? await readJobOwner(this.file(`${name}.owner`)) : undefined;
      const endedGroups = record && this.isDeadHere(record) ? await this.endOrphanGroups(Number(ref), record) : [];
      await fs.rm(this.file(entry), { recursive: true, force: true });
      await fs.rm(this.file(`${name}.owner`), { force: true });
      cleared.push({
        name,
        ref: ref ? Number(ref) : undefined,
        owner,
        endedGroups,
        ageSeconds: stat ? Math.max(0, Math.round((Date.now() - stat.mtimeMs) / 1000)) : 0,
      });
    }
    return cleared;
  }

  private async readOwner(name: string): Promise<LockOwner | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.file(`${name}.owner`), "utf8")) as LockOwner;
    } catch {
      return undefined;
    }
  }

  private async tryLock(name: string, retries = 0): Promise<HeldLock | undefined> {
    try {
      const release = await lockfile.lock(this.file(name), {
        realpath: false,
        stale: this.options.staleMs,
        update: Math.max(1000, Math.floor(this.options.staleMs / 3)),
        retries: retries ? { retries, minTimeout: 20, maxTimeout: 100 } : 0,
        onCompromised: (error) => this.options.onCompromised?.(name, error),
      });
      // A release after the lock was compromised (cleared by --clear-lock) is not an error.
      return { name, release: () => release().catch(() => undefined) };
    } catch (error) {
      if ((error as { code?: string }).code === "ELOCKED") return undefined;
      throw error;
    }
  }

  private file(name: string): string {
    return path.join(this.options.dir, name);
  }
}

/** True while a process with this pid runs on this host (a zombie, which nobody may reap, has ended). */
export function isProcessAlive(pid: number): boolean {
  return isRunning({ pid });
}
