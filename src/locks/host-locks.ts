import fs from "node:fs/promises";
import path from "node:path";
import lockfile from "proper-lockfile";

/**
 * Locks that bound concurrency on one host (DESIGN §4), on proper-lockfile: a lock is a
 * directory created with mkdir (atomic, unlike check-then-write files) whose mtime its
 * holder refreshes; one not refreshed for `staleMs` belongs to a dead process and is taken
 * over. They only bound work on this host: the database lease is what prevents a double run.
 *
 *   slot-1.lock … slot-N.lock   --max-jobs slots shared by every offline-jobs process here
 *   slot-K.owner                who holds slot K (host, pid), for --clear-lock's report
 *   job-REF.lock                held while job REF runs here (its holder is in the row's locked_by)
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
}

export interface HostLocksOptions {
  dir: string;
  staleMs: number;
  host: string;
  /** A held lock was removed or went stale under us (e.g. --clear-lock by another process). */
  onCompromised?: (name: string, error: Error) => void;
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

  /** The lock held while job `ref` runs on this host; undefined if another process holds it. */
  lockJob(ref: number): Promise<HeldLock | undefined> {
    return this.tryLock(`job-${ref}`);
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
      await fs.rm(this.file(entry), { recursive: true, force: true });
      await fs.rm(this.file(`${name}.owner`), { force: true });
      const ref = /^job-(\d+)$/.exec(name)?.[1];
      cleared.push({
        name,
        ref: ref ? Number(ref) : undefined,
        owner,
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

  private async tryLock(name: string): Promise<HeldLock | undefined> {
    try {
      const release = await lockfile.lock(this.file(name), {
        realpath: false,
        stale: this.options.staleMs,
        update: Math.max(1000, Math.floor(this.options.staleMs / 3)),
        retries: 0,
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

/** True while a process with this pid exists on this host. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
