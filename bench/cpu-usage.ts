/** CPU time of processes and of the host, for benchmarks' per-job figures (Linux /proc; NaN elsewhere). */
import fs from "node:fs";
import os from "node:os";

/** CPU ms (user + system) of a process (`utime`) or of its reaped children (`cutime`), from /proc; NaN elsewhere. */
export function procCpuMs(pid: number | "self" | undefined, which: "utime" | "cutime"): number {
  try {
    const fields = fs
      .readFileSync(`/proc/${pid ?? "none"}/stat`, "utf8")
      .split(") ")[1]!
      .split(" ");
    const at = which === "utime" ? 11 : 13;
    return (Number(fields[at]) + Number(fields[at + 1])) * 10;
  } catch {
    return NaN;
  }
}

/** Busy and total CPU time of this host so far (all CPUs). */
export function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/** The shared server's pid, when it runs on this host and /proc shows it. */
export async function localServerPid(query: (sql: string) => Promise<Array<Record<string, unknown>>>): Promise<number | undefined> {
  try {
    const [row] = (await query("SELECT @@pid_file AS f")) as Array<{ f: string }>;
    const pid = Number(fs.readFileSync(row!.f, "utf8").trim());
    return /^(mariadbd|mysqld)$/.test(fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim()) ? pid : undefined;
  } catch {
    return undefined;
  }
}
