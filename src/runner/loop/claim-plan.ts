import { CLAIM_CONNECTIONS } from "../../queue/db.js";

/** Below this mean job duration, a process claims a few batches ahead of its free slots. */
export const SHORT_JOB_MS = 100;

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
  /** Mean duration of this run's jobs so far (undefined before the first ends). */
  meanMs: number | undefined;
  prefetchFactor: number;
  /** Some selected type has a concurrency limit. */
  limited: boolean;
  /** Jobs left before --limit (Infinity without one). */
  limitLeft: number;
}

/**
 * How many jobs to claim now (0: none), given what the run holds.
 *
 * What a process claims ahead of its running jobs waits in its buffer. Until its jobs have
 * proved short, a run claims only for its free slots: a job that may take minutes is better
 * left in the table, where another host with a free slot can take it. Once they have, at most
 * `target` (prefetchFactor × slots), so one host never hoards the queue and a crash strands
 * few jobs. That bound counts the claims in flight too. A claim
 * starts when half of it is left, so that it returns before the slots run dry, and a second
 * starts beside it when the first has not filled the buffer: with short jobs, a claim's round
 * trip (its commit included) is what a run waits for, and two of half the size each share one
 * group commit. Measured with bench/throughput (10,000 no-op jobs, 8 slots, prefetchFactor 4):
 * one claim at a time 7,600–8,600 jobs/s, two 9,500–10,500; three of a third each 7,600–8,700
 * (more claims per job). Runs with a limited type claim one at a time: their claims would
 * only contend for the type's slot row.
 */
export function claimSize(state: ClaimState): number {
  const short = state.meanMs !== undefined && state.meanMs < SHORT_JOB_MS;
  const free = state.slots - state.running;
  const target = short ? state.slots * state.prefetchFactor : free;
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
