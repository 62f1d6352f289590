import { claimJobs, type Claim, type ClaimOptions } from "./claim.js";
import { isRetryableSqlError, sleep, type Database } from "./db.js";
import { retryOnAnotherNode } from "./node-failover.js";

/**
 * Rounds of claims that each ended in a conflict after claim.ts's own retries (6 tries over
 * about 0.3 s), before the error reaches the run and ends it. On Galera a claim loses to
 * another node's now and then (claim.ts, "On a Galera cluster"): with one run on each of three
 * nodes, the runs retried about 175 times per 1,000 claims. Were each try to lose with that
 * chance on its own, six losses in a row would end a run about once in 35,000 claims; four
 * rounds of six make that nothing to reckon with.
 */
const CONFLICT_ROUNDS = 4;

/**
 * A run's claim (claimJobs) with what a cluster adds: claimed again on the next node when its
 * node failed under it (its rows went back first), and again after a pause of 50–300 ms,
 * jittered, when it lost to other claims in every one of its retries.
 */
export async function claimWithRetries(db: Database, options: ClaimOptions): Promise<Claim> {
  for (let round = 1; ; round++) {
    try {
      return await retryOnAnotherNode(db.nodes, () => claimJobs(db, options));
    } catch (error) {
      if (!isRetryableSqlError(error) || round >= CONFLICT_ROUNDS) throw error;
      await sleep(100 * round * (0.5 + Math.random()));
    }
  }
}
