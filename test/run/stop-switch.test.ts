import assert from "node:assert/strict";
import { test } from "node:test";
import { StopSwitch } from "../../src/runner/attempt/stop-switch.js";

test("throwing the switch aborts the handler's signal and ends the runner's wait with the same reason", async () => {
  const stopSwitch = new StopSwitch();
  const seenByHandler: unknown[] = [];
  stopSwitch.signal.addEventListener("abort", () => seenByHandler.push(stopSwitch.signal.reason));
  const waiting = stopSwitch.whenStopped();
  const reason = new Error("cancelled by an operator");
  stopSwitch.stop(reason);
  await assert.rejects(waiting, (error) => error === reason, "the wait must reject with the reason the switch was thrown with");
  assert.deepEqual(seenByHandler, [reason], "the handler's signal must abort once, with that reason");
  assert.equal(stopSwitch.signal.aborted, true);
});

test("a switch thrown before anyone waits makes the wait reject at once, and the first reason wins", async () => {
  const stopSwitch = new StopSwitch();
  const first = new Error("timed out after 5 s");
  stopSwitch.stop(first);
  stopSwitch.stop(new Error("lease expired"));
  await assert.rejects(stopSwitch.whenStopped(), (error) => error === first, "a later stop must not replace the first reason");
  assert.equal(stopSwitch.signal.reason, first);
});

test("a switch never thrown never ends the wait", async () => {
  const stopSwitch = new StopSwitch();
  const outcome = await Promise.race([
    stopSwitch.whenStopped().then(
      () => "resolved",
      () => "rejected",
    ),
    new Promise((r) => setTimeout(() => r("still waiting"), 20)),
  ]);
  assert.equal(outcome, "still waiting");
  assert.equal(stopSwitch.signal.aborted, false);
});
