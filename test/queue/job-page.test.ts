import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../src/errors.js";
import { listJobPage, type JobSort, type PageRequest } from "../../src/queue/job-page.js";
import type { JobQuery, JobScope } from "../../src/queue/job-query.js";
import { useTestDatabase } from "../helpers/database.js";
import { allRows, insertRows, type RowSpec, type StoredRow } from "../helpers/job-rows.js";

/**
 * The jobs page's list: keyset pages in every sort and direction return each matching row
 * exactly once, in order, whatever ties created_at and priority hold; every filter and the
 * scope are applied; a cursor that was tampered with is refused with a UsageError.
 */

const t = useTestDatabase({ emptyBeforeEach: true });

const STATUSES = ["pending", "running", "complete", "failed", "cancelled"];
const USERS = ["alice", "ALICE", "alicé", "alice ", "bob", null];
const STAMPS = ["2030-01-01 10:00:00.000", "2030-01-01 10:00:00.000", "2030-01-02 09:00:00.500", "2029-12-31 23:59:59.999"];

/** 60 rows whose created_at and priority tie in groups, spread over statuses, users, types and hosts. */
function mixedRows(): RowSpec[] {
  return Array.from({ length: 60 }, (_, i) => ({
    type: ["preview", "download", "Preview"][i % 3],
    user: USERS[i % USERS.length],
    status: STATUSES[i % STATUSES.length],
    priority: [2, 0, 2, 5][i % 4],
    created_at: STAMPS[i % STAMPS.length],
    // Half due, half in the far future.
    run_after: i % 2 ? "2999-01-01 00:00:00.000" : "2000-01-01 00:00:00.000",
    locked_by: ["web1:100", "web10:7", "web1:extra:9", "we%:1", null][i % 5],
    job_data: [JSON.stringify({ k: "v" }), JSON.stringify({ k: "V" }), "not json", JSON.stringify({ k: true }), JSON.stringify({ "a.b": `it's "q"` })][i % 5],
  }));
}

function compare(a: StoredRow, b: StoredRow, sort: JobSort): number {
  const key = (row: StoredRow) => (sort === "created" ? row.created_at : sort === "priority" ? row.priority : 0);
  const [x, y] = [key(a), key(b)];
  if (x < y) return -1;
  if (x > y) return 1;
  return a.ref - b.ref;
}

function expected(rows: StoredRow[], keep: (row: StoredRow) => boolean, sort: JobSort, direction: "asc" | "desc"): number[] {
  const sorted = rows.filter(keep).sort((a, b) => compare(a, b, sort));
  if (direction === "desc") sorted.reverse();
  return sorted.map((row) => row.ref);
}

/** Every page from the first until nextCursor is null; fails if a walk does not end. */
async function walk(scope: JobScope, query: JobQuery, page: Omit<PageRequest, "after">): Promise<number[]> {
  const seen: number[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const result = await listJobPage(t.db, scope, query, { ...page, after });
    assert.ok(result.jobs.length <= page.pageSize, `a page holds at most pageSize (${page.pageSize}) jobs, got ${result.jobs.length}`);
    seen.push(...result.jobs.map((job) => job.ref));
    if (result.nextCursor === null) return seen;
    after = result.nextCursor;
  }
  assert.fail("the pages never ended");
}

test("every sort, both directions, any page size: each matching row exactly once, in order, ties included", async () => {
  await insertRows(t, mixedRows());
  const rows = await allRows(t);
  for (const sort of ["created", "priority", "ref"] as const) {
    for (const direction of ["asc", "desc"] as const) {
      for (const pageSize of [1, 7, 60, 200]) {
        const got = await walk({}, {}, { sort, direction, pageSize });
        assert.deepEqual(
          got,
          expected(rows, () => true, sort, direction),
          `sort ${sort} ${direction}, pages of ${pageSize}`,
        );
      }
      const pending = await walk({}, { status: "pending" }, { sort, direction, pageSize: 3 });
      assert.deepEqual(
        pending,
        expected(rows, (row) => row.status === "pending", sort, direction),
        `pending tab, sort ${sort} ${direction}`,
      );
    }
  }
});

test("a full last page says there is no next page", async () => {
  await insertRows(
    t,
    Array.from({ length: 10 }, () => ({})),
  );
  const page = await listJobPage(t.db, {}, {}, { sort: "ref", direction: "desc", pageSize: 10 });
  assert.equal(page.jobs.length, 10);
  assert.equal(page.nextCursor, null, "ten rows in pages of ten: no cursor to an empty page");
});

test("an owner's scope shows only rows whose user is exactly the owner (not ALICE, alicé or 'alice ')", async () => {
  await insertRows(t, mixedRows());
  const rows = await allRows(t);
  for (const sort of ["created", "priority", "ref"] as const) {
    const got = await walk({ owner: "alice" }, {}, { sort, direction: "desc", pageSize: 4 });
    assert.deepEqual(
      got,
      expected(rows, (row) => row.user === "alice", sort, "desc"),
      `alice's scope, sort ${sort}`,
    );
  }
  // A scope and a user filter that disagree show nothing, whatever the filter asks.
  assert.deepEqual(await walk({ owner: "alice" }, { user: "bob" }, { sort: "ref", direction: "desc", pageSize: 50 }), []);
  const bobRef = rows.find((row) => row.user === "bob")!.ref;
  assert.deepEqual(
    await walk({ owner: "alice" }, { ref: bobRef }, { sort: "ref", direction: "desc", pageSize: 50 }),
    [],
    "another's job is not found by its ref",
  );
});

test("each filter keeps exactly the rows it names", async () => {
  await insertRows(t, mixedRows());
  const rows = await allRows(t);
  const cases: Array<[string, JobQuery, (row: StoredRow) => boolean]> = [
    ["status failed", { status: "failed" }, (r) => r.status === "failed"],
    ["types preview + download (not Preview)", { types: ["preview", "download"] }, (r) => r.type === "preview" || r.type === "download"],
    ["type Preview only", { types: ["Preview"] }, (r) => r.type === "Preview"],
    ["user ALICE", { user: "ALICE" }, (r) => r.user === "ALICE"],
    ["user 'alice '", { user: "alice " }, (r) => r.user === "alice "],
    ["host web1 (not web10, not web1:extra)", { host: "web1" }, (r) => r.locked_by === "web1:100"],
    ["host web1:extra", { host: "web1:extra" }, (r) => r.locked_by === "web1:extra:9"],
    ["host we% (a wildcard taken literally)", { host: "we%" }, (r) => r.locked_by === "we%:1"],
    ["host we_1", { host: "we_1" }, () => false],
    ["ref", { ref: rows[7]!.ref }, (r) => r.ref === rows[7]!.ref],
    ["dataField k = v (case counts)", { dataField: { name: "k", value: "v" } }, (r) => r.job_data === '{"k":"v"}'],
    ["dataField k = true", { dataField: { name: "k", value: "true" } }, (r) => r.job_data === '{"k":true}'],
    ["dataField a.b with quotes in the value", { dataField: { name: "a.b", value: `it's "q"` } }, (r) => (r.job_data ?? "").includes("a.b")],
    [
      "status + type + user together",
      { status: "pending", types: ["preview"], user: "alice" },
      (r) => r.status === "pending" && r.type === "preview" && r.user === "alice",
    ],
  ];
  for (const [name, query, keep] of cases) {
    const want = expected(rows, keep, "ref", "desc");
    assert.deepEqual(await walk({}, query, { sort: "ref", direction: "desc", pageSize: 5 }), want, `filter: ${name}`);
  }
  assert.ok(expected(rows, (r) => r.job_data === '{"k":"v"}', "ref", "desc").length > 0, "the data has rows for the dataField case");
});

test("created from/to take instants, both ends included", async () => {
  await insertRows(t, [{ created_at: "2030-01-01 10:00:00.000" }, { created_at: "2030-01-01 11:00:00.000" }, { created_at: "2030-01-01 12:00:00.000" }]);
  const [row] = await t.query<{ middle: string }>("SELECT CAST(UNIX_TIMESTAMP('2030-01-01 11:00:00.000') AS CHAR) AS middle");
  const middle = new Date(Number(row!.middle) * 1000);
  const rows = await allRows(t);
  const page = (query: JobQuery) => walk({}, query, { sort: "created", direction: "asc", pageSize: 2 });
  assert.deepEqual(await page({ createdFrom: middle }), [rows[1]!.ref, rows[2]!.ref], "from the middle row's instant on");
  assert.deepEqual(await page({ createdTo: middle }), [rows[0]!.ref, rows[1]!.ref], "up to the middle row's instant");
  assert.deepEqual(await page({ createdFrom: middle, createdTo: middle }), [rows[1]!.ref]);
  await assert.rejects(page({ createdFrom: new Date("nonsense") }), UsageError);
});

test("due pending jobs show their place in the claim order; others show none, delayed ones their wait", async () => {
  const refs = await insertRows(t, [
    { status: "pending", priority: 2, run_after: "2000-01-01 00:00:00" },
    { status: "pending", priority: 0, run_after: "2000-01-01 00:00:00" },
    { status: "pending", priority: 2, run_after: "2999-01-01 00:00:00" },
    { status: "complete" },
    { status: "pending", priority: 2, run_after: "2000-01-01 00:00:00", user: "bob" },
  ]);
  const { jobs } = await listJobPage(t.db, {}, {}, { sort: "ref", direction: "asc", pageSize: 10 });
  assert.deepEqual(
    jobs.map((job) => job.position),
    [1, 0, null, null, 2],
  );
  assert.ok(jobs[2]!.dueInSeconds! > 1e9, "a job due in 2999 shows a wait of centuries");
  const pendingTab = await listJobPage(t.db, { owner: "bob" }, { status: "pending" }, { sort: "ref", direction: "asc", pageSize: 10 });
  assert.deepEqual(
    pendingTab.jobs.map((job) => [job.ref, job.position]),
    [[refs[4], 2]],
    "the position counts every due job ahead in the queue, whoever's",
  );
  const page = jobs[0] as unknown as Record<string, unknown>;
  assert.ok(!("job_data" in page) && !("log" in page), "a page carries neither job_data nor log");
});

test("a tampered, foreign or oversized cursor is a UsageError, not a crash or a wrong page", async () => {
  await insertRows(
    t,
    Array.from({ length: 5 }, () => ({})),
  );
  const first = await listJobPage(t.db, {}, {}, { sort: "created", direction: "desc", pageSize: 2 });
  const good = first.nextCursor!;
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const bad = [
    "not a cursor!",
    good.slice(0, -3),
    `${good}AA`,
    encode(["created", "desc", "2030-01-01 00:00:00", "1 OR 1=1"]),
    encode(["created", "desc", "2030-01-01'; DROP TABLE job_queue; --", "1"]),
    encode(["created", "desc", "2030-01-01 00:00:00", 1]),
    encode(["created", "desc", "2030-01-01 00:00:00", "99999999999999999999999"]),
    encode(["created", "desc", "2030-01-01 00:00:00"]),
    encode({ sort: "created" }),
    "A".repeat(5000),
  ];
  for (const after of bad) {
    await assert.rejects(listJobPage(t.db, {}, {}, { sort: "created", direction: "desc", pageSize: 2, after }), UsageError, `cursor ${after.slice(0, 40)}`);
  }
  await assert.rejects(listJobPage(t.db, {}, {}, { sort: "ref", direction: "desc", pageSize: 2, after: good }), UsageError, "a cursor of another sort");
  await assert.rejects(listJobPage(t.db, {}, {}, { sort: "created", direction: "asc", pageSize: 2, after: good }), UsageError, "a cursor of another direction");
  const priorityCursor = encode(["priority", "asc", 99999, "1"]);
  await assert.rejects(listJobPage(t.db, {}, {}, { sort: "priority", direction: "asc", pageSize: 2, after: priorityCursor }), UsageError);
  const [count] = await t.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue");
  assert.equal(Number(count!.n), 5, "the table is intact");
});

test("a dataField name that is not a plain JSON key is refused with a UsageError before any SQL", async () => {
  await insertRows(t, [{ job_data: JSON.stringify({ a: "1" }) }]);
  for (const name of ['a"b', "$", "$.a", "a'b", "a b", "a\\b", "", "x".repeat(65), "a*", "é", 'k"), (SELECT 1']) {
    await assert.rejects(
      listJobPage(t.db, {}, { dataField: { name, value: "1" } }, { sort: "ref", direction: "desc", pageSize: 5 }),
      (error: unknown) => error instanceof UsageError && /plain JSON key/.test(error.message),
      `name ${JSON.stringify(name.slice(0, 20))}`,
    );
  }
  const long = await listJobPage(t.db, {}, { dataField: { name: "x".repeat(64), value: "1" } }, { sort: "ref", direction: "desc", pageSize: 5 });
  assert.deepEqual(long.jobs, [], "a 64-character name is a plain key, and matches nothing here");
  await assert.rejects(
    listJobPage(t.db, {}, { dataField: { name: "a", value: "v".repeat(1001) } }, { sort: "ref", direction: "desc", pageSize: 5 }),
    UsageError,
  );
});

test("other bad inputs are UsageErrors: status, sort, page size, ref, long texts", async () => {
  const page = { sort: "ref" as const, direction: "desc" as const, pageSize: 5 };
  const bad: Array<[JobQuery, Partial<PageRequest>]> = [
    [{ status: "done" as never }, {}],
    [{}, { sort: "size" as never }],
    [{}, { direction: "up" as never }],
    [{}, { pageSize: 0 }],
    [{}, { pageSize: 1.5 }],
    [{ ref: -1 }, {}],
    [{ ref: 2 ** 60 }, {}],
    [{ user: "u".repeat(192) }, {}],
    [{ types: ["t".repeat(65)] }, {}],
    [{ host: "" }, {}],
  ];
  for (const [query, override] of bad) {
    await assert.rejects(listJobPage(t.db, {}, query, { ...page, ...override }), UsageError, JSON.stringify({ query, override }));
  }
});

test("a dataField page reads at most scanLimit rows, stops short with a cursor, and going on finds every match once", async () => {
  // One match in every 10 rows, 100 rows.
  await insertRows(
    t,
    Array.from({ length: 100 }, (_, i) => ({ job_data: JSON.stringify({ batch: i % 10 === 3 ? "b7" : `other${i}` }) })),
  );
  const rows = await allRows(t);
  const want = expected(rows, (r) => (r.job_data ?? "").includes('"b7"'), "ref", "desc");
  const query: JobQuery = { dataField: { name: "batch", value: "b7" } };
  const first = await listJobPage(t.db, {}, query, { sort: "ref", direction: "desc", pageSize: 5, scanLimit: 25 });
  assert.ok(first.scanStopped, "25 rows hold 2 or 3 matches, not 5: the page stops at the bound");
  assert.equal(first.scanStopped.scanned, 25);
  assert.ok(first.nextCursor, "and says where to go on");
  const seen: number[] = [];
  let after: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await listJobPage(t.db, {}, query, { sort: "ref", direction: "desc", pageSize: 5, scanLimit: 25, after });
    seen.push(...page.jobs.map((job) => job.ref));
    if (!page.nextCursor) break;
    after = page.nextCursor;
  }
  assert.deepEqual(seen, want, "every match once, in order, across bounded pages");
  const unbounded = await listJobPage(t.db, {}, query, { sort: "ref", direction: "desc", pageSize: 5 });
  assert.equal(unbounded.scanStopped, undefined, "with the default bound, 100 rows are read in one page");
  assert.deepEqual(
    unbounded.jobs.map((job) => job.ref),
    want.slice(0, 5),
  );
});

test("a bounded dataField walk in every sort, with a scope and a tab, finds every match once, in order", async () => {
  await insertRows(t, mixedRows());
  const rows = await allRows(t);
  const query: JobQuery = { dataField: { name: "k", value: "v" }, status: "pending" };
  const keep = (r: StoredRow) => r.job_data === '{"k":"v"}' && r.status === "pending" && r.user === "alice";
  for (const sort of ["created", "priority", "ref"] as const) {
    for (const direction of ["asc", "desc"] as const) {
      const seen: number[] = [];
      let after: string | undefined;
      let stops = 0;
      for (let i = 0; i < 200; i++) {
        const page = await listJobPage(t.db, { owner: "alice" }, query, { sort, direction, pageSize: 1, scanLimit: 7, after });
        assert.ok(!page.scanStopped || page.scanStopped.scanned <= 7, "no page reads more than its bound");
        if (page.scanStopped) stops++;
        seen.push(...page.jobs.map((job) => job.ref));
        if (!page.nextCursor) break;
        after = page.nextCursor;
      }
      assert.deepEqual(seen, expected(rows, keep, sort, direction), `dataField walk, sort ${sort} ${direction}`);
      assert.ok(stops > 0, "60 rows in windows of 7: the bound stopped some pages");
    }
  }
  assert.ok(expected(rows, keep, "ref", "desc").length > 0, "the data has matching rows");
});
