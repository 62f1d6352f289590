import { CLAIM_CONNECTIONS } from "../../queue/db.js";

/**
 * A run claims ahead what its slots will finish in about this long, by the durations it has
 * measured (JobDurations). See claimSize for why 50 ms.
 */
export const CLAIM_AHEAD_MS = 50;

/** While jobs run and the queue looked empty, look again this often for new work. */
const REPOLL_MS = 1000;
/** A limited type's slot row held by another claimer: ask again after this long. */
const CONTENDED_RETRY_MS = 50;

export interface ClaimState {
  /** Slots this run holds, and jobs running in them. */
  slots: number;
  running: number;
  /** Claimed jobs waiting for a slot, claims in flight and the jobs they asked for. */
  buffered: number;
  claiming: number;
  asked: number;
  /** How long the next claimed job should keep a slot busy (JobDurations.expectedMs; undefined: not known yet). */
  expectedMs: number | undefined;
  /** The most a run holds ahead of its slots, as a multiple of them (the config's prefetchFactor). */
  prefetchFactor: number;
  /** Some selected type has a concurrency limit. */
  limited: boolean;
  /** Jobs left before --limit (Infinity without one). */
  limitLeft: number;
}

/**
 * How many jobs a run should hold ahead of its running ones: what its slots will finish in
 * CLAIM_AHEAD_MS (slots × CLAIM_AHEAD_MS / expectedMs), at most prefetchFactor × slots, and at
 * least its free slots. Before the durations are known, the free slots only.
 */
export function claimTarget(state: Pick<ClaimState, "slots" | "running" | "expectedMs" | "prefetchFactor">): number {
  const free = state.slots - state.running;
  if (state.expectedMs === undefined) return free;
  const byTime = Math.floor((state.slots * CLAIM_AHEAD_MS) / Math.max(state.expectedMs, 0.001));
  return Math.max(free, Math.min(state.slots * state.prefetchFactor, byTime));
}

/**
 * How many jobs to claim now (0: none), given what the run holds.
 *
 * What a process claims ahead of its running jobs waits in its buffer, invisible to other
 * hosts, and a crash strands it until its lease expires (its attempts are not counted:
 * start-marks.ts). So a run holds ahead what its slots will finish in CLAIM_AHEAD_MS, by the
 * slot time its jobs of each type have taken (claimTarget): jobs of a few milliseconds are
 * claimed in batches of hundreds, jobs of a second or more one per free slot, and a type not
 * yet measured counts as long, so a host busy with long jobs leaves the rest to hosts with free
 * slots. prefetchFactor × slots caps it for jobs that take no time at all.
 *
 * Why 50 ms: a claim comes back in 1–5 ms on an idle server and 5–10 ms under load; a new
 * claim starts when half of the target is left, so 25 ms of work is still buffered when it
 * goes, several round trips' worth. Longer only strands more at a crash and keeps more from
 * other hosts. With no-op jobs the cap is what binds: a slot finishes one in well under 0.1 ms
 * of its own, but 1–2 ms of wall time beside seven others on one thread, so 50 ms is 200–400
 * jobs for 8 slots, against the cap of 256 (prefetchFactor 32).
 *
 * Measured with bench/throughput (10,000 no-op jobs, 8 slots; the 2-core machine shared with
 * other work, load average 7–12, so the figures are ratios to the reference measured in the
 * same run, two runs each): the fixed bound of 4 × slots that this replaced gave 2.8× and 2.6×
 * the reference, 0.14 queries and 0.07 fsyncs a job; this plan 4.6× and 4.8×, 0.02–0.03
 * queries and 0.02 fsyncs a job, the server's CPU per job 0.06 ms instead of 0.09–0.10 (each
 * claim's fixed cost, about 600 µs, shared by ten times as many jobs). In the same runs,
 * prefetchFactor 4 gave 3.3× and 2.6×. Caps of 16, 32 and 64 in alternating runs: medians of
 * 4.6×, 5.3× and 6.8× (noisy, ±50 %); 32 is where a claim's fixed cost per job (600 µs / 128)
 * falls below its cost per row (8–14 µs), without holding more than 50 ms of anything else.
 *
 * A claim starts when half of the target is left, so that it returns before the slots run
 * dry, and a second starts beside it when the first has not filled the buffer: with short jobs
 * a claim's round trip (its commit included) is what a run waits for, and two share one group
 * commit (one claim at a time was 7,600–8,600 jobs/s, two 9,500–10,500; three of a third each
 * 7,600–8,700). Runs with a limited type claim one at a time: their claims would only contend
 * for the type's slot row.
 */
export function claimSize(state: ClaimState): number {
  const free = state.slots - state.running;
  const target = claimTarget(state);
  const ahead = state.buffered + state.asked;
  const want = Math.min(target - ahead, state.limitLeft);
  const low = ahead <= Math.max(target / 2, free - 1);
  const atOnce = state.limited ? 1 : CLAIM_CONNECTIONS;
  return state.claiming < atOnce && low && want > 0 ? want : 0;
}

/**
 * After a claim came back short (the run now thinks the queue is empty): when to look again,
 * or undefined to let the run end once its jobs are done.
 */
export function lookAgainInMs(state: {
  /** The claim left a limited type out because another claimer held its slot row (and retries remain). */
  contended: boolean;
  running: number;
  /** --sleep of a worker; undefined for a run that ends when the queue is empty. */
  idleSleepSeconds: number | undefined;
}): number | undefined {
  // Another claimer held the slot row for a moment: that says nothing about whether the
  // type's jobs are due, so ask again shortly instead of concluding.
  if (state.contended) return CONTENDED_RETRY_MS;
  // Jobs are still running (or this is a worker), so the run stays: look again for new work,
  // soon while jobs run, after --sleep when idle. (A type at its limit is asked for again as
  // soon as one of our jobs ends.)
  if (state.running > 0) return REPOLL_MS;
  return state.idleSleepSeconds === undefined ? undefined : state.idleSleepSeconds * 1000;
}
