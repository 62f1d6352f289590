import { z } from "zod";
import { PermanentError, TransientError } from "../errors.js";
import { defineHandler } from "../job/handler.js";

/** Does nothing, optionally after a pause or with a failure: for smoke tests and benchmarks. */
export default defineHandler({
  name: "noop",
  description: "Does nothing; optionally sleeps (sleepMs, at most 10 minutes) or fails (permanent | transient).",
  schema: z
    .object({
      sleepMs: z.number().int().min(0).max(600_000).optional(),
      fail: z.enum(["permanent", "transient"]).optional(),
    })
    .strict(),
  defaults: { timeoutSeconds: 900 },
  async run(context, data) {
    if (data.sleepMs) await abortableSleep(data.sleepMs, context.signal);
    if (data.fail === "permanent") throw new PermanentError("noop was asked to fail permanently");
    if (data.fail === "transient") throw new TransientError("noop was asked to fail transiently");
    return {};
  },
});

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
