import fs from "node:fs";

/**
 * A process as recorded in the lock folder: its pid and its start time (clock ticks after
 * boot, field 22 of /proc/<pid>/stat). The pair names one process for the life of the host:
 * a pid may be reused by a later process, the pair may not. `start` is missing where there
 * is no /proc; such a record is judged by its pid alone.
 */
export interface ProcessId {
  pid: number;
  start?: number;
}

interface ProcStat {
  /** R, S, D…; Z (zombie) and X (dead) have ended, though kill(pid, 0) still finds a zombie. */
  state: string;
  pgrp: number;
  start: number;
}

let procReadable: boolean | undefined;

function hasProc(): boolean {
  procReadable ??= fs.existsSync("/proc/self/stat");
  return procReadable;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 is the command name in parentheses, which may itself hold spaces and ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state), fields[2] field 5 (pgrp), fields[19] field 22 (starttime).
    return { state: fields[0] ?? "", pgrp: Number(fields[2]), start: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

const ended = (stat: ProcStat) => stat.state === "Z" || stat.state === "X";

/** The identity of a process running now (read at once, before its pid can be reused). */
export function identify(pid: number): ProcessId {
  const stat = hasProc() ? readStat(pid) : undefined;
  return stat ? { pid, start: stat.start } : { pid };
}

/** Whether the recorded process still runs: not if it is gone, a zombie, or its pid now names a later process. */
export function isRunning(id: ProcessId): boolean {
  if (!hasProc()) return signalZero(id.pid);
  const stat = readStat(id.pid);
  if (!stat || ended(stat)) return false;
  return id.start === undefined || stat.start === id.start;
}

/** Whether any process of group `pgid` still runs (zombies aside: nobody may reap them). */
export function groupRuns(pgid: number): boolean {
  if (!hasProc()) return signalZero(-pgid);
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && stat.pgrp === pgid && !ended(stat)) return true;
  }
  return false;
}

/**
 * Ends the process group that `leader` started (SIGTERM, SIGKILL after `graceMs`), only if
 * the leader is still that very process (a zombie counts: it keeps its pid, so the group's
 * id cannot have been reused) and still leads its group. A pid reused since, a leader gone
 * altogether, or one without a recorded start time, is left alone. Resolves once the group
 * is gone (or a few seconds after SIGKILL); true if it signalled the group.
 */
export async function endProcessGroup(leader: ProcessId, graceMs: number): Promise<boolean> {
  const stat = leader.start === undefined ? undefined : readStat(leader.pid);
  if (!stat || stat.start !== leader.start || stat.pgrp !== leader.pid || !groupRuns(leader.pid)) return false;
  signalGroup(leader.pid, "SIGTERM");
  if (await groupGone(leader.pid, graceMs)) return true;
  signalGroup(leader.pid, "SIGKILL");
  await groupGone(leader.pid, 2000);
  return true;
}

async function groupGone(pgid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (groupRuns(pgid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Gone already.
  }
}

function signalZero(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
