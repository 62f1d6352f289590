import assert from "node:assert/strict";
import { test } from "node:test";
import { claimJobs } from "../../src/queue/claim.js";
import { useTestDatabase } from "../helpers/database.js";

const t = useTestDatabase();

test("a claim whose read-back fails after its UPDATE committed gives the rows back: none is left running, no attempt counted", async () => {
  await t.query("INSERT INTO job_queue (type, job_data) VALUES ('noop', '{}'), ('noop', '{}'), ('noop', '{}')");
  // The claim's UPDATE does not touch failure_text; its read-back SELECT does. Without the
  // column the UPDATE commits and the SELECT fails: the rows would be stranded as running
  // under a token nobody holds until their lease expired, with an attempt counted.
  await t.query("ALTER TABLE job_queue DROP COLUMN failure_text");
  await assert.rejects(
    claimJobs(t.db, { types: ["noop"], limits: {}, max: 3, workerId: "host-a:1", leaseSeconds: 60 }),
    /failure_text/,
    "the claim should fail with the server's error",
  );
  const rows = await t.query<{ status: string; attempts: number }>("SELECT status, attempts FROM job_queue ORDER BY ref");
  assert.deepEqual(
    rows.map((r) => `${r.status} ${r.attempts}`),
    ["pending 0", "pending 0", "pending 0"],
    "every claimed row must be back to pending with its attempt not counted",
  );
});
