import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../src/errors.js";
import { countMatchingJobs, exportedJobsByRef, exportMatchingJobs, matchingRefs, refsInScope } from "../../src/queue/job-matches.js";
import type { JobQuery, JobScope } from "../../src/queue/job-query.js";
import { useTestDatabase } from "../helpers/database.js";
import { allRows, insertRows } from "../helpers/job-rows.js";

/**
 * Everything matching the jobs page's filter: counts that stop at their cap, the refs to act
 * on, the CSV export's pages, and which refs a scope may touch; none crosses the scope.
 */

const t = useTestDatabase({ emptyBeforeEach: true });

/** 30 rows: alice's 12 (4 failed), bob's 12, ALICE's 6; job_data's `batch` is "x" on every third row. */
async function fill(): Promise<void> {
  await insertRows(
    t,
    Array.from({ length: 30 }, (_, i) => ({
      user: i < 12 ? "alice" : i < 24 ? "bob" : "ALICE",
      status: i % 3 === 0 ? "failed" : "complete",
      job_data: JSON.stringify({ batch: i % 3 === 1 ? "x" : "y" }),
    })),
  );
}

async function exported(scope: JobScope, query: JobQuery, pageSize?: number): Promise<{ refs: number[]; pages: number }> {
  const refs: number[] = [];
  let pages = 0;
  for await (const page of exportMatchingJobs(t.db, scope, query, pageSize)) {
    pages++;
    refs.push(...page.map((job) => job.ref));
  }
  return { refs, pages };
}

test("counts stop at the cap and say so", async () => {
  await fill();
  assert.deepEqual(await countMatchingJobs(t.db, {}, {}, 100), { count: 30, capped: false, partial: false });
  assert.deepEqual(await countMatchingJobs(t.db, {}, {}, 30), { count: 30, capped: false, partial: false }, "exactly the cap is not capped");
  assert.deepEqual(await countMatchingJobs(t.db, {}, {}, 29), { count: 29, capped: true, partial: false });
  assert.deepEqual(await countMatchingJobs(t.db, { owner: "alice" }, { status: "failed" }, 100), { count: 4, capped: false, partial: false });
  assert.deepEqual(
    await countMatchingJobs(t.db, { owner: "alice" }, { user: "bob" }, 100),
    { count: 0, capped: false, partial: false },
    "the scope wins over the filter",
  );
  await assert.rejects(countMatchingJobs(t.db, {}, {}, -1), UsageError);
});

test("a dataField count reads at most scanLimit rows and says when it is only a lower bound", async () => {
  await fill();
  const query: JobQuery = { dataField: { name: "batch", value: "x" } };
  assert.deepEqual(await countMatchingJobs(t.db, {}, query, 100), { count: 10, capped: false, partial: false });
  assert.deepEqual(await countMatchingJobs(t.db, { owner: "alice" }, query, 100), { count: 4, capped: false, partial: false });
  const bounded = await countMatchingJobs(t.db, {}, query, 100, { scanLimit: 9 });
  assert.equal(bounded.partial, true, "30 rows, 9 read: a lower bound");
  assert.equal(bounded.count, 3, "the newest 9 rows hold 3 matches");
  assert.deepEqual(await countMatchingJobs(t.db, {}, query, 2), { count: 2, capped: true, partial: false });
});

test("matchingRefs gives the matching refs ascending, at most limit, never another's", async () => {
  await fill();
  const rows = await allRows(t);
  const alices = rows.filter((r) => r.user === "alice").map((r) => r.ref);
  assert.deepEqual(await matchingRefs(t.db, { owner: "alice" }, {}, 1000), alices);
  assert.deepEqual(await matchingRefs(t.db, { owner: "alice" }, {}, 5), alices.slice(0, 5));
  assert.deepEqual(
    await matchingRefs(t.db, {}, { user: "ALICE" }, 1000),
    rows.filter((r) => r.user === "ALICE").map((r) => r.ref),
  );
  const xs = rows.filter((r) => r.job_data === '{"batch":"x"}').map((r) => r.ref);
  assert.deepEqual(await matchingRefs(t.db, {}, { dataField: { name: "batch", value: "x" } }, 1000), xs);
  assert.deepEqual(await matchingRefs(t.db, {}, { dataField: { name: "batch", value: "x" } }, 3), xs.slice(0, 3));
  assert.deepEqual(await matchingRefs(t.db, {}, {}, 0), []);
});

test("export streams every matching job in pages, oldest first, within the scope", async () => {
  await fill();
  const rows = await allRows(t);
  const bobs = rows.filter((r) => r.user === "bob").map((r) => r.ref);
  assert.deepEqual(await exported({ owner: "bob" }, {}, 5), { refs: bobs, pages: 3 }, "12 rows in pages of 5");
  const failedXs = await exported({}, { status: "failed", dataField: { name: "batch", value: "y" } }, 4);
  assert.deepEqual(
    failedXs.refs,
    rows.filter((r) => r.status === "failed" && r.job_data === '{"batch":"y"}').map((r) => r.ref),
  );
  for await (const page of exportMatchingJobs(t.db, {}, { ref: rows[0]!.ref })) {
    assert.deepEqual(Object.keys(page[0]!).sort(), [
      "attempts",
      "created_at",
      "error",
      "finished_at",
      "locked_by",
      "progress",
      "ref",
      "result",
      "run_after",
      "started_at",
      "status",
      "type",
      "user",
    ]);
  }
});

test("refsInScope keeps the refs the scope may touch, ascending, and drops others' and missing ones", async () => {
  await fill();
  const rows = await allRows(t);
  const alice = rows.filter((r) => r.user === "alice").map((r) => r.ref);
  const others = rows.filter((r) => r.user !== "alice").map((r) => r.ref);
  const asked = [...others.slice(0, 3), alice[2]!, alice[0]!, alice[0]!, 999_999, -4, 1.5];
  assert.deepEqual(await refsInScope(t.db, { owner: "alice" }, asked), [alice[0]!, alice[2]!]);
  assert.deepEqual(await refsInScope(t.db, {}, [others[0]!, 999_999]), [others[0]!], "view_all: every existing ref");
  assert.deepEqual(await refsInScope(t.db, { owner: "alice" }, []), []);
});

test("exportedJobsByRef gives the ticked jobs the scope may see, with the columns the checks need, and drops others' and missing ones", async () => {
  await fill();
  const rows = await allRows(t);
  const alice = rows.filter((r) => r.user === "alice");
  const bob = rows.find((r) => r.user === "bob")!;
  const asked = [bob.ref, alice[1]!.ref, alice[0]!.ref, alice[0]!.ref, 999_999, -4, 1.5];
  const found = await exportedJobsByRef(t.db, { owner: "alice" }, asked);
  assert.deepEqual(
    found.map((job) => [job.ref, job.user, job.status]),
    [alice[0]!, alice[1]!].map((row) => [row.ref, "alice", row.status]),
    "alice's two jobs, once each, and nothing of bob's or of no job",
  );
  assert.deepEqual(
    (await exportedJobsByRef(t.db, {}, [bob.ref, 999_999])).map((job) => job.ref),
    [bob.ref],
    "view_all: every existing ref",
  );
  assert.deepEqual(await exportedJobsByRef(t.db, { owner: "alice" }, []), []);
});
