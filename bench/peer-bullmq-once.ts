/**
 * bench/peers.ts's cold BullMQ: a process whose worker (concurrency 8, a no-op processor) runs
 * the queue OJ_QUEUE at OJ_REDIS_URL until it is drained, then closes and exits. BullMQ 6
 * takes a Redis client it is given: ioredis, loaded with require (NODE_PATH may point at one).
 */
import { createRequire } from "node:module";
import { Worker } from "bullmq";

const IORedis = createRequire(import.meta.url)("ioredis") as new (url: string, options: object) => unknown;
const worker = new Worker(process.env.OJ_QUEUE!, async () => undefined, {
  connection: new IORedis(process.env.OJ_REDIS_URL!, { maxRetriesPerRequest: null }) as never,
  concurrency: 8,
});
await new Promise<void>((resolve) => worker.once("drained", () => resolve()));
await worker.close();
process.exit(0);
