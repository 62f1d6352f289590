import assert from "node:assert/strict";
import { test } from "node:test";
import { CLAIM_AHEAD_MS, claimSize, claimTarget, lookAgainInMs, type ClaimState } from "../../src/runner/loop/claim-plan.js";
import { JobDurations } from "../../src/runner/loop/job-durations.js";
import { CLAIM_CONNECTIONS } from "../../src/queue/db.js";

/** A run of 8 slots whose jobs take no time, prefetchFactor 4: the cap binds, 32 ahead. */
const state = (overrides: Partial<ClaimState> = {}): ClaimState => ({
  slots: 8,
  running: 0,
  buffered: 0,
  claiming: 0,
  asked: 0,
  expectedMs: 0.01,
  prefetchFactor: 4,
  limited: false,
  limitLeft: Infinity,
  ...overrides,
});

test("before the durations are known, a run claims only as many jobs as it has free slots", () => {
  assert.equal(claimSize(state({ expectedMs: undefined })), 8);
  assert.equal(claimSize(state({ expectedMs: undefined, running: 6 })), 2);
});

test(`a run holds ahead what its slots finish in ${CLAIM_AHEAD_MS} ms: batches of short jobs, long ones one per free slot`, () => {
  assert.equal(claimTarget(state({ expectedMs: 2, prefetchFactor: 64 })), (8 * CLAIM_AHEAD_MS) / 2, "2 ms jobs: 8 slots finish 200 in 50 ms");
  assert.equal(claimTarget(state({ expectedMs: 20, prefetchFactor: 64 })), 20, "20 ms jobs: 20");
  assert.equal(claimTarget(state({ expectedMs: 0.01, prefetchFactor: 4 })), 32, "jobs that take no time: the cap, prefetchFactor × slots");
  assert.equal(claimTarget(state({ expectedMs: 5000 })), 8, "long jobs: the free slots, no more");
  assert.equal(claimSize(state({ expectedMs: 5000, running: 8 })), 0, "all slots busy with long jobs: nothing to claim");
  assert.equal(claimSize(state({ expectedMs: 5000, running: 7 })), 1, "one slot free: one job");
  assert.equal(claimSize(state({ expectedMs: 5000, running: 7, claiming: 1, asked: 1 })), 0, "the free slot's job is on its way");
  assert.equal(claimSize(state({ expectedMs: 100, running: 8 })), 4, "100 ms jobs, all slots busy: the 4 that start in the next 50 ms");
});

test("short jobs are claimed ahead up to the target, counting claims in flight, a new claim once half is left", () => {
  assert.equal(claimSize(state()), 32, "an empty run asks for the whole target");
  assert.equal(claimSize(state({ claiming: 1, asked: 16 })), 16, "a second claim asks for what the first left");
  assert.equal(claimSize(state({ claiming: 1, asked: 16, buffered: 8 })), 0, "more than half the target is on its way: wait");
  assert.equal(claimSize(state({ buffered: 17 })), 0, "more than half the target is buffered: wait");
  assert.equal(claimSize(state({ buffered: 16 })), 16, "half the target left: claim the other half");
});

test(`at most ${CLAIM_CONNECTIONS} claims are in flight, and one when a selected type is limited`, () => {
  assert.equal(claimSize(state({ claiming: CLAIM_CONNECTIONS, asked: 8 })), 0);
  assert.equal(claimSize(state({ limited: true, claiming: 1, asked: 8 })), 0, "a limited run's claims would contend for the slot row");
  assert.equal(claimSize(state({ limited: true })), 32);
});

test("--limit caps what is asked for, claims in flight included", () => {
  assert.equal(claimSize(state({ limitLeft: 5 })), 5);
  assert.equal(claimSize(state({ limitLeft: 0 })), 0);
});

test("the expected slot time follows the mix of types the claims bring, and is unknown while a type in it has not been measured", () => {
  const durations = new JobDurations();
  assert.equal(durations.expectedMs(), undefined, "nothing claimed yet");
  durations.claimed(Array.from({ length: 10 }, () => ({ type: "thumb" })));
  assert.equal(durations.expectedMs(), undefined, "claimed, none ended yet");
  durations.ended("thumb", 2);
  assert.equal(durations.expectedMs(), 2);
  durations.claimed([...Array.from({ length: 9 }, () => ({ type: "thumb" })), { type: "video" }]);
  assert.equal(durations.expectedMs(), undefined, "a type never measured may be long: not known");
  durations.ended("video", 4002);
  const mixed = durations.expectedMs()!;
  assert.ok(mixed > 100 && mixed < 400, `one video in twenty claimed jobs pulls the expectation up at once (got ${mixed} ms)`);
  for (let i = 0; i < 12; i++) durations.claimed([{ type: "thumb" }]);
  assert.ok(Math.abs(durations.expectedMs()! - 2) < 0.01, "claims without video bring the expectation back to thumbnails");
  durations.ended("thumb", 12);
  assert.ok(Math.abs(durations.expectedMs()! - 4) < 0.01, "a moving average per type: one 12 ms job moves 2 ms to 4 ms");
});

test("after a short claim: retry soon when a slot row was held, re-poll while jobs run, sleep when a worker is idle, else end", () => {
  assert.equal(lookAgainInMs({ contended: true, running: 0, idleSleepSeconds: undefined }), 50);
  assert.equal(lookAgainInMs({ contended: false, running: 3, idleSleepSeconds: undefined }), 1000);
  assert.equal(lookAgainInMs({ contended: false, running: 0, idleSleepSeconds: 5 }), 5000);
  assert.equal(lookAgainInMs({ contended: false, running: 0, idleSleepSeconds: undefined }), undefined);
});
