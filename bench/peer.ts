import { sleep } from "../test/helpers/cli.js";

/** One queue in bench/peers.ts: how it runs the jobs, warm and cold, in jobs per second. */
export interface Peer {
  name: string;
  durability: string;
  warm(): Promise<number>;
  cold(): Promise<number>;
  close(): Promise<void>;
}

/** What each peer runs: `jobs` no-op jobs, `concurrency` at once, after `warmUp` to warm a worker up. */
export interface PeerLoad {
  jobs: number;
  warmUp: number;
  concurrency: number;
}

export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
