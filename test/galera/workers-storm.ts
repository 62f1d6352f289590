import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { killTree, runCli, sleep } from "../helpers/cli.js";
import { clusterHostConfig } from "../helpers/galera.js";
import { clusterStorm, judgeStorm, STORM_JOBS, useStormWorld } from "./cluster-storm.js";

/**
 * docs/reliability.md, "A Galera cluster": the storm of cluster-storm.ts with `offline-jobs work`
 * daemons (two on each of three simulated hosts, each host's own node first, started again at
 * once when they end, as systemd would), and, between the node 2 restart and the node 3 freeze,
 * `offline-jobs restart` through node 1: every worker on every node must stop cleanly (exit 0,
 * "restart requested") within a few seconds, whichever node it uses. Afterwards the same as for
 * runs: every job complete once, repeats only for jobs in flight at a kill or on a failed node's
 * host, the workers on a failed node continue on another within CONTINUE_BOUND_S.
 *
 * Size: OJ_GALERA_STORM_JOBS jobs (300 in `npm test`, 3,000 in `npm run test:galera`); skipped, saying
 * why, without the cluster.
 */

/** A worker checks the restart stamp every 2 s, then lets its running jobs finish (at most 1.8 × the mean job). */
const RESTART_REACH_S = 10;

/** Registers these tests (cluster.test.ts: every cluster test in one file, so that they take turns on the one cluster). */
export function workersThroughTheStorm(skip: string | false): void {
  describe("workers and restart through node faults", () => {
    const world = useStormWorld(skip, "oj-galera-workers-");

    test(
      `${STORM_JOBS} jobs, two work daemons on each of three nodes, \`restart\` through one node, a node SIGKILLed and restarted, a node frozen longer than the lease, workers SIGKILLed at random: every job complete once, every worker stopped by the restart`,
      { skip, timeout: 900_000 },
      async (t) => {
        const { db, dir } = world;
        let restartAt = 0;
        const storm = await clusterStorm({
          db,
          dir,
          jobs: STORM_JOBS,
          command: (maxJobs) => ["work", "--max-jobs", String(maxJobs), "--sleep", "0.5"],
          // A worker ends only when asked: by the restart, or by SIGTERM at the end.
          acceptable: (result) => result.code === 0 && /restart requested|SIGTERM/.test(result.stderr),
          midway: async () => {
            const restart = await runCli(["restart"], { config: clusterHostConfig(dir, db, "operator", 1) });
            assert.equal(restart.code, 0, `restart through node 1 failed:\n${restart.stderr}`);
            restartAt = Date.now();
            await sleep(RESTART_REACH_S * 1000);
          },
          stopAll: (children) => children.forEach((child) => killTree(child, "SIGTERM")),
        });
        const report = await judgeStorm(db, dir, storm, "galera workers");

        // Every worker that ran when the stamp was written stopped for it, on every host, in time
        // (the storm is held off from 3 s before; a worker it had killed just before does not count).
        const running = storm.records.filter((r) => r.startedAt < restartAt - 500 && (r.endedAt ?? Infinity) > restartAt);
        const restarted = running.filter((r) => r.result?.signal !== "SIGKILL");
        const late = restarted.filter((r) => !/restart requested/.test(r.result?.stderr ?? "") || r.endedAt! - restartAt > RESTART_REACH_S * 1000);
        assert.deepEqual(
          late.map((r) => `worker ${r.pid} on ${r.host}: ended ${((r.endedAt! - restartAt) / 1000).toFixed(1)} s after the restart, code ${r.result?.code}`),
          [],
          `every worker should stop for the restart within ${RESTART_REACH_S} s`,
        );
        assert.deepEqual(
          [...new Set(restarted.map((r) => r.host))].sort(),
          ["host-a", "host-b", "host-c"],
          "the restart, written through node 1, should reach workers on all three nodes",
        );
        const line = `${report}; restart through node 1 stopped ${restarted.length} worker(s) in ${Math.max(...restarted.map((r) => r.endedAt! - restartAt)) / 1000} s at most`;
        t.diagnostic(line);
        console.log(line);
      },
    );
  });
}
