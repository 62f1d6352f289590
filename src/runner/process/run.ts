import { isProcessAlive, type ClearedLock, type HostLocks } from "../../locks/host-locks.js";
import { claimJobByRef } from "../../queue/claim-by-ref.js";
import { requeueStuckJob } from "../../queue/leases.js";
import type { AttemptEnd } from "../attempt-end.js";
import { QueueRunner } from "../loop/run-queue.js";
import { emptyCounts, type RunCounts } from "../../metrics/run-counts.js";
import type { RunnerDeps, RunOptions } from "../runner-deps.js";
import type { GracefulStop } from "./graceful-stop.js";
import { openRunner, type RunnerBase } from "./open-runner.js";

/**
 * The operator's queries about one job (--job, --clear-lock), loaded on those paths only: a
 * cron run does without them.
 */
const admin = () => import("../../queue/admin.js");

export interface RunRequest extends RunOptions {
  /** --job: run just this job now. */
  job?: number;
  /** --clear-lock: remove every lock on this host first (and with --job, re-queue it if stuck). */
  clearLock?: boolean;
  /** SIGTERM/SIGINT handling: a stop lets running jobs finish within its grace period. */
  stop?: GracefulStop;
}

export interface RunReport {
  /** No slot was free: nothing was run (not an error). */
  busy: boolean;
  slots: number;
  cleared: Array<ClearedLock & { holder?: string; alive?: boolean }>;
  counts: RunCounts;
  /** With --job: how that job ended (`attempt`: how its attempt here ended, if it ran). */
  job?: { ref: number; status: string; error: string | null; result: unknown; attempt?: AttemptEnd["kind"] };
}

/** `offline-jobs run`: one cron-style pass over the queue, or one job with --job. */
export async function runJobs(base: RunnerBase, request: RunRequest): Promise<RunReport> {
  const deps = await openRunner(base);
  const { config, logger, locks, workerId } = deps;
  const report: RunReport = { busy: false, slots: 0, cleared: [], counts: emptyCounts() };
  if (request.clearLock) {
    report.cleared = await clearLocks(deps, locks);
    if (request.job !== undefined) await requeueIfHolderDead(deps, request.job);
  }
  const runner = new QueueRunner(deps, request);
  request.stop?.attach(runner);
  const want = request.job !== undefined ? 1 : Math.min(request.maxJobs, request.limit ?? Infinity);
  report.slots = await runner.takeSlots(want);
  if (report.slots === 0) {
    report.busy = true;
    const busy = `all ${request.maxJobs} job slot(s) on this host are busy`;
    if (request.job === undefined) logger.info(`${busy}; nothing to do`);
    else report.job = { ref: request.job, status: "not-run", error: `${busy} (raise --max-jobs to run it beside them)`, result: null };
    return report;
  }
  if (request.job === undefined) {
    const disabled = deps.registry.disabledWanted(request.types);
    if (disabled) logger.warn(disabled);
    await runner.drain();
    report.counts = runner.counts;
    return report;
  }
  let end: AttemptEnd | undefined;
  try {
    // As every run does first: a job whose holder died is pending again once its lease has
    // expired (and that holder's orphaned subprocesses on this host are ended), so the
    // operator need not wait for a cron run to recover it.
    await runner.recoverLeases();
    // The claim by ref takes any type; a type disabled here must still be left to other hosts.
    const { getJob } = await admin();
    const type = (await getJob(deps.db, request.job))?.type;
    if (type !== undefined && deps.registry.disabled().includes(type)) {
      report.job = {
        ref: request.job,
        status: "not-run",
        error: `its type ${type} is disabled on this host (types.${type}.enabled is false): left pending`,
        result: null,
      };
      return report;
    }
    const claim = await claimJobByRef(deps.db, request.job, {
      limits: deps.registry.limits(deps.registry.names()),
      workerId,
      leaseSeconds: config.leaseSeconds,
    });
    if (!claim.job) {
      report.job = { ref: request.job, status: "not-run", error: claim.reason ?? `job ${request.job} is not runnable`, result: null };
      return report;
    }
    // Claimed by ref, so a type without a handler here is failed by executeJob, permanently.
    end = await runner.runClaimed(claim.job);
  } finally {
    await runner.releaseSlots();
    await runner.settleNotices();
  }
  report.counts = runner.counts;
  if (!end) {
    report.job = { ref: request.job, status: "not-run", error: heldElsewhere(request.job, await locks.jobHolder(request.job)), result: null };
    return report;
  }
  const { getJob, parseResult } = await admin();
  const row = await getJob(deps.db, request.job);
  report.job = { ref: request.job, status: row?.status ?? "unknown", error: row?.error ?? null, result: parseResult(row?.result ?? null), attempt: end.kind };
  return report;
}

/** Why --job gave a job back: a live process on this host still runs an earlier attempt of it. */
function heldElsewhere(ref: number, holder: { host: string; pid: number } | undefined): string {
  const who = holder ? `process ${holder.host}:${holder.pid}` : "another process";
  return (
    `${who} on this host still runs an earlier attempt of it (it holds the job lock, and stops that attempt at its next heartbeat, its lease being gone); ` +
    `the job is pending again: run \`offline-jobs run --job ${ref}\` again in a few seconds`
  );
}

async function clearLocks(deps: RunnerDeps, locks: HostLocks): Promise<RunReport["cleared"]> {
  const cleared = await locks.clearAll();
  const described: RunReport["cleared"] = [];
  for (const lock of cleared) {
    let holder = lock.owner ? `${lock.owner.host}:${lock.owner.pid}` : undefined;
    if (!holder && lock.ref !== undefined) holder = (await (await admin()).getJob(deps.db, lock.ref))?.locked_by ?? undefined;
    const alive = holder ? holderAlive(holder, deps.config.hostName) : undefined;
    const state = alive === undefined ? "holder unknown" : alive ? "holder still alive" : "holder dead";
    deps.logger.info(`removed lock ${lock.name}${holder ? ` held by ${holder}` : ""} (${state}, refreshed ${lock.ageSeconds} s ago)`);
    described.push({ ...lock, holder, alive });
  }
  if (cleared.length === 0) deps.logger.info(`no locks to clear in ${deps.config.lockDir}`);
  return described;
}

/** host:pid → alive? Only answerable for processes on this host. */
function holderAlive(holder: string, hostName: string): boolean | undefined {
  const cut = holder.lastIndexOf(":");
  const host = holder.slice(0, cut);
  const pid = Number(holder.slice(cut + 1));
  if (host !== hostName || !Number.isInteger(pid) || pid <= 0) return undefined;
  return isProcessAlive(pid);
}

async function requeueIfHolderDead(deps: RunnerDeps, ref: number): Promise<void> {
  const row = await (await admin()).getJob(deps.db, ref);
  if (!row || row.status !== "running" || !row.locked_by) return;
  const alive = holderAlive(row.locked_by, deps.config.hostName);
  if (alive === false) {
    if (await requeueStuckJob(deps.db, ref, row.locked_by)) {
      deps.logger.info(`job ${ref} was stuck running with a dead holder (${row.locked_by}): re-queued`);
    }
  } else if (alive) {
    deps.logger.warn(`job ${ref} is running in a live process (${row.locked_by}); left alone`);
  } else {
    deps.logger.warn(`job ${ref} is held by ${row.locked_by}, on another host: its lease (until ${row.lease_until}) decides`);
  }
}
