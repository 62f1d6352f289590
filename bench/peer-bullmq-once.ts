/**
 * bench/peers.ts's cold BullMQ: a process whose worker (concurrency 8, a no-op processor) runs
 * the queue OJ_QUEUE at OJ_REDIS_URL until it is drained, then closes and exits. BullMQ 6
 * takes a Redis client it is given: ioredis.
 */
import { Worker } from "bullmq";
import { Redis } from "ioredis";

const worker = new Worker(process.env.OJ_QUEUE!, async () => undefined, {
  connection: new Redis(process.env.OJ_REDIS_URL!, { maxRetriesPerRequest: null }),
  concurrency: 8,
});
await new Promise<void>((resolve) => worker.once("drained", () => resolve()));
await worker.close();
process.exit(0);
