import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useTestDatabase } from "../helpers/database.js";
import { makePage, type TestPage } from "./web-harness.js";

/**
 * The permission matrix, through the page's own request function against the real table: for
 * each role × action × whose job × whether the job's type asks for more (noop asks
 * cancelPermissions / createPermissions ["special"]), the answer is allowed or 403, and the
 * row shows that the action happened, or did not. Identities come from the trusted header.
 */

const database = useTestDatabase();

const ROLES: Record<string, string[]> = {
  nothing: [],
  viewer: ["view_all"],
  operator: ["cancel_job", "retry", "boost", "delete", "create_job"],
  specialOperator: ["cancel_job", "retry", "boost", "delete", "create_job", "special"],
  admin: ["view_all", "cancel_job", "retry", "boost", "delete", "create_job", "special", "purge", "export", "clear"],
};
const ACTIONS = ["cancel", "retry", "boost", "delete"] as const;
type Action = (typeof ACTIONS)[number];
const PERMISSION: Record<Action, string> = { cancel: "cancel_job", retry: "retry", boost: "boost", delete: "delete" };
/** A job each action applies to: pending for cancel and boost, failed for retry, complete for delete. */
const STATE: Record<Action, Record<string, unknown>> = {
  cancel: { status: "pending" },
  boost: { status: "pending" },
  retry: { status: "failed", attempts: 3, error: "it broke", finished_at: new Date() },
  delete: { status: "complete", attempts: 1, finished_at: new Date() },
};

/** The page, made once, inside the first test that asks (the test database exists only then). */
let made: Promise<TestPage> | undefined;
const pageOf = () =>
  (made ??= makePage(database, {
    web: {
      trustedHeader: { name: "X-Remote-User", proxies: ["10.0.0.1"] },
      roles: ROLES,
      users: Object.fromEntries(Object.keys(ROLES).map((role) => [role, { roles: [role] }])),
    },
    types: { noop: { cancelPermissions: ["special"], createPermissions: ["special"] } },
  }));

const as = (user: string) => ({ peer: "10.0.0.1", headers: { "x-remote-user": user } });

/** What the row says about whether `action` happened. */
async function happened(ref: number, action: Action): Promise<boolean> {
  const [row] = await database.query<{ status: string; priority: number; log: string | null }>("SELECT status, priority, log FROM job_queue WHERE ref = ?", [
    ref,
  ]);
  switch (action) {
    case "cancel":
      return row!.status === "cancelled";
    case "retry":
      return row!.status === "pending";
    case "boost":
      return row!.priority === 0;
    case "delete":
      return row === undefined;
  }
}

describe("actions on one job: role × action × own or another's × a type with extra permissions", () => {
  for (const role of Object.keys(ROLES)) {
    for (const action of ACTIONS) {
      for (const owner of ["own", "other"] as const) {
        for (const type of ["noop", "extract_text"] as const) {
          const permissions = new Set(ROLES[role]);
          const inScope = owner === "own" || permissions.has("view_all");
          const typeOk = !(action === "cancel" && type === "noop") || permissions.has("special");
          const allowed = inScope && permissions.has(PERMISSION[action]) && typeOk;
          test(`${role} ${action}s ${owner === "own" ? "their own" : "another's"} ${type} job: ${allowed ? "allowed" : "403"}`, async () => {
            const ref = await database.insertJob(type, {}, { user: owner === "own" ? role : "someone-else", priority: 2, ...STATE[action] });
            const response = await (await pageOf()).request("/actions", { ...as(role), form: { action, ref: String(ref), back: `/job/${ref}` } });
            assert.equal(response.status, allowed ? 303 : 403, await response.text());
            assert.equal(await happened(ref, action), allowed, allowed ? "the row shows the action" : "the row is unchanged");
            if (allowed && action !== "delete") {
              const [row] = await database.query<{ log: string }>("SELECT log FROM job_queue WHERE ref = ?", [ref]);
              const past = { cancel: "cancelled", retry: "retried", boost: "boosted" }[action];
              assert.match(row!.log, new RegExp(`\\] info ${past} by ${role} \\(web\\)`), "the job's log says who did it");
            }
          });
        }
      }
    }
  }
});

describe("seeing jobs: without view_all only one's own", () => {
  test("the list, the details and the live log of another's job", async () => {
    const mine = await database.insertJob("noop", { marker: "mine-xyz" }, { user: "operator" });
    const theirs = await database.insertJob("noop", { marker: "theirs-xyz" }, { user: "someone-else" });
    const list = await (await (await pageOf()).request("/jobs", as("operator"))).text();
    assert.match(list, new RegExp(`href="/job/${mine}"`));
    assert.doesNotMatch(list, new RegExp(`href="/job/${theirs}"`), "another's job is not listed");
    assert.equal((await (await pageOf()).request(`/job/${theirs}`, as("operator"))).status, 403);
    assert.equal((await (await pageOf()).request(`/job/${theirs}/log`, as("operator"))).status, 403);
    assert.equal((await (await pageOf()).request(`/job/${mine}`, as("operator"))).status, 200);
    assert.equal((await (await pageOf()).request(`/job/${theirs}`, as("viewer"))).status, 200, "view_all sees every job");
    assert.equal((await (await pageOf()).request("/jobs?user=someone-else", as("operator"))).status, 403, "no user filter without view_all");
  });

  test("a selection holding one job that may not be touched is refused whole", async () => {
    const mine = await database.insertJob("extract_text", {}, { user: "operator" });
    const theirs = await database.insertJob("extract_text", {}, { user: "someone-else" });
    const response = await (await pageOf()).request("/actions", { ...as("operator"), form: { action: "cancel", ref: [String(mine), String(theirs)] } });
    assert.equal(response.status, 403);
    assert.match(await response.text(), new RegExp(`job ${theirs} does not exist or is not yours`));
    assert.equal(await happened(mine, "cancel"), false, "nothing was done, not even to the permitted job");
  });
});

describe("everything matching: each job checked on its own", () => {
  test("cancel all of one's jobs: those of a type whose cancelPermissions the user lacks are left alone and counted", async () => {
    await database.query("DELETE FROM job_queue");
    const plain = await database.insertJob("extract_text", {}, { user: "operator" });
    const special = await database.insertJob("noop", {}, { user: "operator" });
    const others = await database.insertJob("extract_text", {}, { user: "someone-else" });
    const page = await pageOf();
    const confirm = await (await page.request("/actions/confirm?action=cancel&tab=pending", as("operator"))).text();
    assert.match(confirm, /2 jobs match the filter/, "the count is of the user's own jobs");
    const done = await page.request("/actions/all", { ...as("operator"), form: { action: "cancel", tab: "pending" } });
    assert.equal(done.status, 200);
    const html = await done.text();
    assert.match(html, /Cancelled job: <a href="\/job\/\d+">\d+<\/a>/);
    assert.match(html, /1 × cancelling a job needs the permission special/);
    assert.equal(await happened(plain, "cancel"), true);
    assert.equal(await happened(special, "cancel"), false, "the type's cancelPermissions held");
    assert.equal(await happened(others, "cancel"), false, "another user's job is outside the scope");
  });
});

describe("creating jobs: create_job plus the type's createPermissions; hidden types never", () => {
  for (const role of Object.keys(ROLES)) {
    for (const type of ["noop", "extract_text"] as const) {
      const permissions = new Set(ROLES[role]);
      const allowed = permissions.has("create_job") && (type !== "noop" || permissions.has("special"));
      test(`${role} creates a ${type} job: ${allowed ? "allowed" : "403"}`, async () => {
        const before = await database.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE user = ?", [role]);
        const form: Record<string, string> = type === "noop" ? { "f.sleepMs": "5" } : { "f.source": "/srv/files/a.pdf" };
        const response = await (await pageOf()).request(`/new/${type}`, { ...as(role), form });
        assert.equal(response.status, allowed ? 303 : 403, await response.text());
        const after = await database.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE user = ?", [role]);
        assert.equal(Number(after[0]!.n) - Number(before[0]!.n), allowed ? 1 : 0);
      });
    }
  }

  test("a hidden type is neither offered nor created", async () => {
    const hidden = await makePage(database, {
      web: { trustedHeader: { name: "X-Remote-User", proxies: ["10.0.0.1"] }, roles: ROLES, users: { admin: { roles: ["admin"] } } },
      types: { noop: { hidden: true } },
    });
    const menu = await (await hidden.request("/new", as("admin"))).text();
    assert.doesNotMatch(menu, /href="\/new\/noop"/);
    assert.match(menu, /href="\/new\/extract_text"/);
    const response = await hidden.request("/new/noop", { ...as("admin"), form: { "f.sleepMs": "5" } });
    assert.equal(response.status, 403);
    assert.match(await response.text(), /not offered on this page/);
  });
});

describe("purge, clear and export", () => {
  test("purge needs purge and view_all; it deletes old finished jobs", async () => {
    const old = await database.insertJob("noop", {}, { status: "complete", finished_at: new Date(Date.now() - 40 * 86_400_000) });
    assert.equal((await (await pageOf()).request("/purge", { ...as("operator"), form: { days: "30" } })).status, 403);
    assert.equal((await database.query("SELECT ref FROM job_queue WHERE ref = ?", [old])).length, 1);
    const response = await (await pageOf()).request("/purge", { ...as("admin"), form: { days: "30" } });
    assert.equal(response.status, 200);
    assert.match(await response.text(), /Deleted [1-9][\d,]* finished job\(s\) older than 30 day\(s\)/);
    assert.equal((await database.query("SELECT ref FROM job_queue WHERE ref = ?", [old])).length, 0);
  });

  test("clear removes only the user's own finished jobs; with view_all also the command line's", async () => {
    const own = await database.insertJob("noop", {}, { user: "admin", status: "failed", finished_at: new Date() });
    const other = await database.insertJob("noop", {}, { user: "someone-else", status: "failed", finished_at: new Date() });
    const cli = await database.insertJob("noop", {}, { user: "cli:deploy", status: "complete", finished_at: new Date() });
    const pending = await database.insertJob("noop", {}, { user: "admin" });
    assert.equal((await (await pageOf()).request("/clear", { ...as("viewer"), form: {} })).status, 403, "viewer lacks clear");
    assert.equal((await (await pageOf()).request("/clear", { ...as("admin"), form: { cli: "1" } })).status, 200);
    const left = (await database.query<{ ref: number }>("SELECT ref FROM job_queue WHERE ref IN (?)", [[own, other, cli, pending]])).map((r) => Number(r.ref));
    assert.deepEqual(
      left.sort((a, b) => a - b),
      [other, pending].sort((a, b) => a - b),
    );
  });

  test("export needs export, and holds only the jobs the user may see", async () => {
    await database.insertJob("noop", {}, { user: "someone-else" });
    assert.equal((await (await pageOf()).request("/export.csv", as("viewer"))).status, 403);
    const response = await (await pageOf()).request("/export.csv", as("admin"));
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/csv/);
    const csv = await response.text();
    assert.match(csv, /^startDate,endDate,jobName,jobStatus,jobInfo,jobUser,ref\r\n/);
    assert.match(csv, /someone-else/);
  });
});
