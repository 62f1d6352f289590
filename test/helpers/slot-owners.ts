import fs from "node:fs";
import path from "node:path";

/** Slots a process holds on its host, from the owner files beside the slot locks in its lockDir. */
export function slotsHeldBy(lockDir: string, pid: number): number {
  let held = 0;
  for (const entry of fs.existsSync(lockDir) ? fs.readdirSync(lockDir) : []) {
    if (!/^slot-\d+\.owner$/.test(entry)) continue;
    try {
      if ((JSON.parse(fs.readFileSync(path.join(lockDir, entry), "utf8")) as { pid: number }).pid === pid) held++;
    } catch {
      // being written or removed
    }
  }
  return held;
}
