import assert from "node:assert/strict";
import { test } from "node:test";
import { claimSize, lookAgainInMs, type ClaimState } from "../../src/runner/loop/claim-plan.js";
import { CLAIM_CONNECTIONS } from "../../src/queue/db.js";

/** A run of 8 slots whose jobs have proved short, prefetchFactor 4: it may hold 32 ahead. */
const state = (overrides: Partial<ClaimState> = {}): ClaimState => ({
  slots: 8,
  running: 0,
  buffered: 0,
  claiming: 0,
  asked: 0,
  meanMs: 1,
  prefetchFactor: 4,
  limited: false,
  limitLeft: Infinity,
  ...overrides,
});

test("before any job has ended, a run claims only as many jobs as it has slots", () => {
  assert.equal(claimSize(state({ meanMs: undefined })), 8);
});

test("long jobs are not claimed ahead: a run claims only for its free slots", () => {
  assert.equal(claimSize(state({ meanMs: 5000, running: 8 })), 0, "all slots busy with long jobs: nothing to claim");
  assert.equal(claimSize(state({ meanMs: 5000, running: 7 })), 1, "one slot free: one job");
  assert.equal(claimSize(state({ meanMs: 5000, running: 7, claiming: 1, asked: 1 })), 0, "the free slot's job is on its way");
  assert.equal(claimSize(state({ meanMs: undefined, running: 6 })), 2, "before any job ended, jobs are not known to be short");
});

test("short jobs are claimed ahead, up to prefetchFactor × slots, counting claims in flight", () => {
  assert.equal(claimSize(state()), 32, "an empty run asks for the whole bound");
  assert.equal(claimSize(state({ claiming: 1, asked: 16 })), 16, "a second claim asks for what the first left");
  assert.equal(claimSize(state({ claiming: 1, asked: 16, buffered: 8 })), 0, "more than half the bound is on its way: wait");
  assert.equal(claimSize(state({ buffered: 17 })), 0, "more than half the bound is buffered: wait");
  assert.equal(claimSize(state({ buffered: 16 })), 16, "half the bound left: claim the other half");
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

test("after a short claim: retry soon when a slot row was held, re-poll while jobs run, sleep when a worker is idle, else end", () => {
  assert.equal(lookAgainInMs({ contended: true, running: 0, idleSleepSeconds: undefined }), 50);
  assert.equal(lookAgainInMs({ contended: false, running: 3, idleSleepSeconds: undefined }), 1000);
  assert.equal(lookAgainInMs({ contended: false, running: 0, idleSleepSeconds: 5 }), 5000);
  assert.equal(lookAgainInMs({ contended: false, running: 0, idleSleepSeconds: undefined }), undefined);
});
