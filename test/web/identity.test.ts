import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FatalError } from "../../src/errors.js";
import { makeGrant } from "../../src/web/identity/grant.js";
import { hashPassword } from "../../src/web/identity/password.js";
import { checkListen, parseListen } from "../../src/web/listen-address.js";
import { parseConfig } from "../../src/config/load-config.js";
import { useTestDatabase } from "../helpers/database.js";
import { GRANT_SECRET, makePage, sessionCookie } from "./web-harness.js";

/**
 * Who the user is: signed links (expired, tampered and replayed ones refused), the proxy's
 * header (believed only from the proxies), built-in users' scrypt passwords (rate-limited),
 * and closed by default with no identity at all.
 */

const database = useTestDatabase();
const roles = { admin: ["view_all", "cancel_job"], staff: ["create_job"] };

function grantFor(
  claims: Partial<{ user: string; roles: string[]; permissions: string[]; exp: number; nonce: string }>,
  nowSeconds: number,
  secret = GRANT_SECRET,
): string {
  return makeGrant(
    { user: "alice", roles: ["staff"], exp: nowSeconds + 60, nonce: `nonce-${Math.random().toString(36).slice(2)}-${Date.now()}`, ...claims },
    secret,
  );
}

describe("signed links (grants)", () => {
  test("a valid grant becomes an HttpOnly, SameSite=Strict session cookie on the base path, and the page reloads itself without it", async () => {
    const page = await makePage(database, { web: { grantSecret: GRANT_SECRET, roles } }, { basePath: "/jobs" });
    const response = await page.request(`/jobs/jobs?tab=failed&grant=${grantFor({}, Math.floor(Date.now() / 1000))}`);
    assert.equal(response.status, 200);
    const cookie = response.headers.get("set-cookie") ?? "";
    assert.match(cookie, /oj_session=/);
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    assert.match(cookie, /Path=\/jobs\//);
    const html = await response.text();
    assert.match(html, /http-equiv="refresh" content="0; url=\/jobs\/jobs\?tab=failed"/, "the grant is dropped from the address it reloads");
    const overview = await page.request("/jobs/", { cookie: sessionCookie(response) });
    assert.equal(overview.status, 200);
    assert.match(await overview.text(), /<span class="user">alice<\/span>/);
  });

  test("an expired grant is refused, and so is one valid for more than an hour", async () => {
    const page = await makePage(database, { web: { grantSecret: GRANT_SECRET, roles } });
    const now = Math.floor(Date.now() / 1000);
    const expired = await page.request(`/?grant=${grantFor({ exp: now - 5 }, now)}`);
    assert.equal(expired.status, 403);
    assert.match(await expired.text(), /the link expired \d+ s ago/);
    assert.equal(expired.headers.get("set-cookie"), null, "no session for an expired grant");
    const tooLong = await page.request(`/?grant=${grantFor({ exp: now + 7200 }, now)}`);
    assert.equal(tooLong.status, 403);
    assert.match(await tooLong.text(), /a grant must expire within 3600 s/);
  });

  test("a grant whose payload or signature was altered, or that was signed with another secret, is refused", async () => {
    const page = await makePage(database, { web: { grantSecret: GRANT_SECRET, roles } });
    const now = Math.floor(Date.now() / 1000);
    const [payload, signature] = grantFor({}, now).split(".") as [string, string];
    const other = Buffer.from(JSON.stringify({ user: "mallory", roles: ["admin"], exp: now + 60, nonce: "0123456789abcdef0123" })).toString("base64url");
    for (const token of [
      `${other}.${signature}`,
      `${payload}.${signature.replace(/^./, (c) => (c === "0" ? "1" : "0"))}`,
      grantFor({ user: "mallory" }, now, "another-secret-another-secret-another-secret"),
    ]) {
      const response = await page.request(`/?grant=${token}`);
      assert.equal(response.status, 403, token);
      assert.match(await response.text(), /signature does not match/);
    }
    const garbage = await page.request("/?grant=%3Cscript%3E");
    assert.equal(garbage.status, 403);
    assert.match(await garbage.text(), /not of the form PAYLOAD\.SIGNATURE/);
  });

  test("a grant works once: the same link again is refused as a replay", async () => {
    const page = await makePage(database, { web: { grantSecret: GRANT_SECRET, roles } });
    const grant = grantFor({}, Math.floor(Date.now() / 1000));
    assert.equal((await page.request(`/?grant=${grant}`)).status, 200);
    const again = await page.request(`/?grant=${grant}`);
    assert.equal(again.status, 403);
    assert.match(await again.text(), /the link was used already/);
  });

  test("a grant naming a role the config does not define is refused; one with permissions only gets those", async () => {
    const page = await makePage(database, { web: { grantSecret: GRANT_SECRET, roles } });
    const now = Math.floor(Date.now() / 1000);
    const unknown = await page.request(`/?grant=${grantFor({ roles: ["superuser"] }, now)}`);
    assert.equal(unknown.status, 403);
    assert.match(await unknown.text(), /names role &quot;superuser&quot;, which web\.roles does not define/);
    const cookie = sessionCookie(await page.request(`/?grant=${grantFor({ roles: undefined, permissions: ["view_all"] }, now)}`));
    const jobs = await page.request("/jobs?user=bob", { cookie });
    assert.equal(jobs.status, 200, "view_all from the grant's permissions lets alice filter by user");
  });

  test("a session expires after web.sessionHours, and an altered session cookie is no session", async () => {
    let now = Date.now();
    const page = await makePage(database, { web: { grantSecret: GRANT_SECRET, roles, sessionHours: 1 } }, { now: () => now });
    const cookie = sessionCookie(await page.request(`/?grant=${grantFor({}, Math.floor(now / 1000))}`));
    assert.equal((await page.request("/", { cookie })).status, 200);
    const [name, value] = cookie.split("=") as [string, string];
    const tampered = `${name}=${Buffer.from(JSON.stringify({ user: "alice", permissions: ["view_all"], via: "grant", exp: 9e9 })).toString("base64url")}.${value.split(".")[1]}`;
    assert.equal((await page.request("/", { cookie: tampered })).status, 401, "a cookie with a changed payload is refused");
    now += 3601_000;
    assert.equal((await page.request("/", { cookie })).status, 401, "an hour later the session is over");
  });
});

describe("the trusted header", () => {
  const trusted = { web: { trustedHeader: { name: "X-Remote-User", proxies: ["10.0.0.0/8", "::1"] }, users: { carol: { roles: ["admin"] } }, roles } };

  test("is believed from a proxy's address, with the user's roles from web.users", async () => {
    const page = await makePage(database, trusted);
    const response = await page.request("/jobs?user=someone", { peer: "10.1.2.3", headers: { "x-remote-user": "carol" } });
    assert.equal(response.status, 200, "carol is admin (view_all): she may filter by user");
    assert.match(await response.text(), /<span class="user">carol<\/span>/);
    const mapped = await page.request("/", { peer: "::ffff:10.9.9.9", headers: { "x-remote-user": "dave" } });
    assert.equal(mapped.status, 200, "an IPv4 proxy on a dual-stack socket counts");
  });

  test("is ignored from any other address: no identity, so 401", async () => {
    const page = await makePage(database, trusted);
    const response = await page.request("/", { peer: "192.168.1.50", headers: { "x-remote-user": "carol" } });
    assert.equal(response.status, 401);
    assert.doesNotMatch(await response.text(), /carol/);
  });
});

describe("built-in users", () => {
  test("sign in with the scrypt password; a wrong one is refused, and ten failures in a row lock the address out", async () => {
    const passwordHash = await hashPassword("correct horse battery", { N: 2 ** 10, r: 8, p: 1 });
    assert.match(passwordHash, /^scrypt\$1024\$8\$1\$[\w-]+\$[\w-]+$/);
    const page = await makePage(database, { web: { users: { erin: { passwordHash, roles: ["admin"] } }, roles } }, { basePath: "/jobs" });
    const anonymous = await page.request("/jobs/jobs?tab=failed");
    assert.equal(anonymous.status, 303);
    assert.equal(anonymous.headers.get("location"), "/jobs/login?next=%2Fjobs%2Fjobs%3Ftab%3Dfailed");
    const wrong = await page.request("/jobs/login", { form: { user: "erin", password: "wrong", next: "/jobs/" }, peer: "10.0.0.7" });
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /wrong user name or password/);
    const right = await page.request("/jobs/login", {
      form: { user: "erin", password: "correct horse battery", next: "/jobs/jobs?tab=failed" },
      peer: "10.0.0.7",
    });
    assert.equal(right.status, 303);
    assert.equal(right.headers.get("location"), "/jobs/jobs?tab=failed");
    const home = await page.request("/jobs/", { cookie: sessionCookie(right) });
    assert.match(await home.text(), /<span class="user">erin<\/span>/);
    const offsite = await page.request("/jobs/login", { form: { user: "erin", password: "correct horse battery", next: "//evil.example/" }, peer: "10.0.0.8" });
    assert.equal(offsite.headers.get("location"), "/jobs/", "a next that leaves the page is replaced by the overview");
    for (let i = 0; i < 10; i++) await page.request("/jobs/login", { form: { user: "erin", password: `guess ${i}` }, peer: "10.0.0.9" });
    const locked = await page.request("/jobs/login", { form: { user: "erin", password: "correct horse battery" }, peer: "10.0.0.9" });
    assert.equal(locked.status, 429, "even the right password waits once the address is locked out");
    assert.match(await locked.text(), /too many failed sign-ins from your address/);
    const elsewhere = await page.request("/jobs/login", { form: { user: "erin", password: "correct horse battery" }, peer: "10.0.0.10" });
    assert.equal(elsewhere.status, 303, "another address is not locked out");
  });

  test("an unknown user is told the same as a wrong password", async () => {
    const passwordHash = await hashPassword("correct horse battery", { N: 2 ** 10, r: 8, p: 1 });
    const page = await makePage(database, { web: { users: { erin: { passwordHash, roles: [] } }, roles } });
    const response = await page.request("/login", { form: { user: "nobody", password: "correct horse battery" } });
    assert.equal(response.status, 401);
    assert.match(await response.text(), /wrong user name or password/);
  });
});

describe("closed by default", () => {
  test("with no identity configured, the page refuses to listen on anything but loopback", () => {
    const open = parseConfig({}, { env: {} }).web;
    assert.throws(
      () => checkListen(parseListen("0.0.0.0:8080"), open),
      (error: unknown) => error instanceof FatalError && /refusing to listen on 0\.0\.0\.0:8080: no identity is configured/.test(error.message),
    );
    assert.throws(() => checkListen(parseListen(":8080"), open), FatalError);
    assert.throws(() => checkListen(parseListen("192.168.1.5:8080"), open), FatalError);
    for (const loopback of ["127.0.0.1:8080", "[::1]:8080", "localhost:8080"]) assert.doesNotThrow(() => checkListen(parseListen(loopback), open));
    const withGrants = parseConfig({ web: { grantSecret: GRANT_SECRET } }, { env: {} }).web;
    assert.doesNotThrow(() => checkListen(parseListen("0.0.0.0:8080"), withGrants), "with an identity it may listen anywhere");
  });

  test("its anonymous visitor views everything but changes nothing, and only by a loopback name, not through a proxy", async () => {
    const ref = await database.insertJob("noop", {}, { user: "alice" });
    const page = await makePage(database);
    assert.equal((await page.request(`/job/${ref}`)).status, 200, "view_all");
    const cancel = await page.request("/actions", { form: { action: "cancel", ref: String(ref) } });
    assert.equal(cancel.status, 403);
    const [row] = await database.query<{ status: string }>("SELECT status FROM job_queue WHERE ref = ?", [ref]);
    assert.equal(row!.status, "pending");
    const rebound = await page.request("/", { headers: { host: "evil.example:8080" } });
    assert.equal(rebound.status, 403, "a hostile name pointed at 127.0.0.1 (DNS rebinding) is refused");
    const proxied = await page.request("/", { headers: { "x-forwarded-for": "203.0.113.9" } });
    assert.equal(proxied.status, 403, "a proxy in front of an identity-less page is refused");
  });

  test("with web.localAdmin, the anonymous loopback visitor may act", async () => {
    const ref = await database.insertJob("noop", {}, { user: "alice" });
    const page = await makePage(database, { web: { localAdmin: true } });
    const cancel = await page.request("/actions", { form: { action: "cancel", ref: String(ref) } });
    assert.equal(cancel.status, 303);
    const [row] = await database.query<{ status: string; log: string }>("SELECT status, log FROM job_queue WHERE ref = ?", [ref]);
    assert.equal(row!.status, "cancelled");
    assert.match(row!.log, /cancelled by local \(web\)/);
  });
});
