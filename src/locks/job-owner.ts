import fs from "node:fs/promises";
import type { ProcessId } from "./process-identity.js";

/**
 * `job-REF.owner`, beside the job lock: who holds it (host, pid and start time) and the
 * process groups its attempt started (each leader's pid and start time). A later attempt on
 * this host reads it to know whether the holder is dead and which of its processes to end.
 */
export interface JobOwner {
  host: string;
  pid: number;
  /** The holder's start time (see ProcessId); absent where there is no /proc. */
  start?: number;
  since: string;
  groups: ProcessId[];
}

export async function readJobOwner(file: string): Promise<JobOwner | undefined> {
  try {
    const owner = JSON.parse(await fs.readFile(file, "utf8")) as Partial<JobOwner>;
    if (typeof owner.host !== "string" || !Number.isInteger(owner.pid)) return undefined;
    const groups = Array.isArray(owner.groups) ? owner.groups.filter((g) => Number.isInteger(g?.pid) && g.pid > 1) : [];
    return { host: owner.host, pid: owner.pid!, start: owner.start, since: String(owner.since ?? ""), groups };
  } catch {
    return undefined;
  }
}

/** Written to a temporary name and renamed: a reader sees the old record or the new one, never half of one. */
export async function writeJobOwner(file: string, owner: JobOwner): Promise<void> {
  await fs.writeFile(`${file}.tmp`, JSON.stringify(owner));
  await fs.rename(`${file}.tmp`, file);
}

/** The same holder (the record was not rewritten by someone else meanwhile). */
export function sameHolder(a: JobOwner, b: JobOwner): boolean {
  return a.host === b.host && a.pid === b.pid && a.start === b.start && a.since === b.since;
}
