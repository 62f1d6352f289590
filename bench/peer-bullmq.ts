/**
 * BullMQ in bench/peers.ts, on a given Redis: the machine's own (REDIS_URL, which keeps
 * nothing on disk here) or a private one with an fsynced append-only file (durable-redis.ts).
 * Warm: a worker in this process, fed by addBulk, timed from the add to the last completion
 * event. Cold: a process (peer-bullmq-once.ts) whose worker closes when the queue is drained,
 * timed from spawning it to its exit.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { until, type Peer, type PeerLoad } from "./peer.js";
import { timedNode } from "./timed-node.js";

const ONCE = path.join(path.dirname(fileURLToPath(import.meta.url)), "peer-bullmq-once.js");

/** What the server keeps on disk, as its config says. */
function durabilityOf(save: string, appendonly: string, appendfsync: string): string {
  const settings = `Redis save="${save}", appendonly=${appendonly}${appendonly === "yes" ? `, appendfsync=${appendfsync}` : ""}`;
  if (appendonly === "yes") return `${settings}: ${appendfsync === "always" ? "durable" : "loses up to a second of writes: NOT durable"}`;
  return `${settings}: ${save ? "snapshots only: NOT durable" : "nothing on disk: NOT durable"}`;
}

export async function bullmq(redisUrl: string, label: string, load: PeerLoad, onClose?: () => Promise<void>): Promise<Peer | string> {
  const { Redis } = await import("ioredis");
  const url = new URL(redisUrl);
  // Options, not clients: BullMQ closes the connections it made itself when its queue or worker
  // closes, and leaves open (keeping this process alive) those it was handed.
  const connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
  const admin = new Redis({ ...connection, lazyConnect: true });
  const setting = async (key: string) => ((await admin.config("GET", key)) as string[])[1] ?? "";
  let durability: string;
  try {
    await admin.connect();
    durability = durabilityOf(await setting("save"), await setting("appendonly"), await setting("appendfsync"));
  } catch (error) {
    admin.disconnect();
    await onClose?.();
    return `skipped: Redis does not answer at ${redisUrl} (${(error as Error).message})`;
  }
  const { Queue, Worker } = await import("bullmq");
  const name = `oj-peers-${randomBytes(4).toString("hex")}`;
  const queue = new Queue(name, { connection });
  const jobs = (n: number) => Array.from({ length: n }, (_, i) => ({ name: "noop", data: { i } }));
  return {
    name: `BullMQ 6.7 (${label})`,
    durability,
    async warm() {
      let completed = 0;
      let last = 0;
      const worker = new Worker(name, async () => undefined, { connection, concurrency: load.concurrency });
      worker.on("completed", () => {
        completed++;
        last = performance.now();
      });
      try {
        await worker.waitUntilReady();
        await queue.addBulk(jobs(load.warmUp));
        await until(() => completed >= load.warmUp, "the warm-up jobs");
        completed = 0;
        const started = performance.now();
        await queue.addBulk(jobs(load.jobs));
        await until(() => completed >= load.jobs, "the jobs");
        return (load.jobs / (last - started)) * 1000;
      } finally {
        await worker.close();
        await queue.obliterate({ force: true });
      }
    },
    async cold() {
      await queue.addBulk(jobs(load.jobs));
      const ms = await timedNode([ONCE], { ...process.env, OJ_REDIS_URL: redisUrl, OJ_QUEUE: name });
      const waiting = await queue.getWaitingCount();
      await queue.obliterate({ force: true });
      if (waiting !== 0) throw new Error("the BullMQ worker left jobs waiting");
      return (load.jobs / ms) * 1000;
    },
    async close() {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await admin.quit();
      await onClose?.();
    },
  };
}
