import { describe, test } from "node:test";
import { clusterStorm, CONTINUE_BOUND_S, judgeStorm, STORM_JOBS, useStormWorld } from "./cluster-storm.js";

/**
 * docs/reliability.md, "A Galera cluster": cron-style `offline-jobs run` processes, two lanes on
 * each of three simulated hosts, each host listing its own node of the loopback cluster first,
 * through the storm of cluster-storm.ts (node 2 SIGKILLed and restarted, node 3 frozen longer than
 * the lease, runs SIGKILLed at random). Afterwards every job is complete exactly once in the
 * table and none lost; a job ran twice only if it was in flight in a killed run or on a failed
 * node's host; every run that was not killed exited 0, those on the healthy nodes included (they
 * ride out the cluster's pause while it evicts a node); every run that used the failed node
 * started a job again, through another node, within CONTINUE_BOUND_S.
 *
 * Size: OJ_GALERA_STORM_JOBS jobs (300 in `npm test`, 3,000 in `npm run test:galera`). Skipped, saying
 * why, when the cluster is not running (`bash scripts/galera.sh start`; CI starts it).
 */

/** Registers these tests (cluster.test.ts: every cluster test in one file, so that they take turns on the one cluster). */
export function runsThroughTheStorm(skip: string | false): void {
  describe("runs through node faults", () => {
    const world = useStormWorld(skip, "oj-galera-runs-");

    test(
      `${STORM_JOBS} jobs, two runs on each of three nodes, a node SIGKILLed and restarted, a node frozen longer than the lease, runs SIGKILLed at random: every job complete once, repeats only for jobs in flight, runs on a failed node continue on another within ${CONTINUE_BOUND_S} s`,
      { skip, timeout: 900_000 },
      async (t) => {
        const { db, dir } = world;
        const storm = await clusterStorm({
          db,
          dir,
          jobs: STORM_JOBS,
          command: (maxJobs) => ["run", "--max-jobs", String(maxJobs)],
          // A run ends when nothing is due (or finds its host's slots busy): exit 0.
          acceptable: (result) => result.code === 0,
        });
        const report = await judgeStorm(db, dir, storm, "galera runs");
        t.diagnostic(report);
        console.log(report);
      },
    );
  });
}
