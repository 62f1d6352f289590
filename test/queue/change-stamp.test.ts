import assert from "node:assert/strict";
import { test } from "node:test";
import { readChangeStamp } from "../../src/queue/change-stamp.js";
import { boostJobs, cancelJobs, retryJobs } from "../../src/queue/repair.js";
import { useTestDatabase } from "../helpers/database.js";
import { insertRows } from "../helpers/job-rows.js";

/**
 * The change stamp a refreshing page compares: the same while nothing the scope sees changed,
 * different after an insert, a claim, progress, a finish, a boost, a cancel or a retry.
 */

const t = useTestDatabase({ emptyBeforeEach: true });

test("the stamp moves with every change a page shows, and stays put otherwise", async () => {
  const [a, b] = await insertRows(t, [{ user: "alice" }, { user: "alice" }]);
  let stamp = await readChangeStamp(t.db, {});
  assert.equal(await readChangeStamp(t.db, {}), stamp, "nothing changed: the same stamp");
  const moved = async (what: string, change: () => Promise<unknown>) => {
    await change();
    const next = await readChangeStamp(t.db, {});
    assert.notEqual(next, stamp, `the stamp must move after ${what}`);
    stamp = next;
  };
  await moved("an insert", () => insertRows(t, [{ user: "bob" }]));
  await moved("a claim", () =>
    t.query("UPDATE job_queue SET status = 'running', started_at = NOW(3), lease_until = NOW(3) + INTERVAL 1 MINUTE WHERE ref = ?", [a]),
  );
  await moved("progress", () => t.query("UPDATE job_queue SET progress = 50 WHERE ref = ?", [a]));
  await moved("a finish", () => t.query("UPDATE job_queue SET status = 'complete', finished_at = NOW(3), lease_until = NULL WHERE ref = ?", [a]));
  await moved("a boost", () => boostJobs(t.db, [b!]));
  await moved("a cancel", () => cancelJobs(t.db, [b!], 10_000));
  await moved("a retry", () => retryJobs(t.db, [b!], 10_000));
});

test("a scoped stamp ignores other users' changes", async () => {
  await insertRows(t, [{ user: "alice" }]);
  const before = await readChangeStamp(t.db, { owner: "alice" });
  await insertRows(t, [{ user: "bob" }, { user: "ALICE" }]);
  await t.query("UPDATE job_queue SET status = 'failed', finished_at = NOW(3) WHERE user = 'bob'");
  assert.equal(await readChangeStamp(t.db, { owner: "alice" }), before, "bob's and ALICE's jobs are not alice's");
  await insertRows(t, [{ user: "alice" }]);
  assert.notEqual(await readChangeStamp(t.db, { owner: "alice" }), before);
});
