import { parseConfig } from "../../src/config/load-config.js";
import type { Config } from "../../src/config/schema.js";
import { loadRegistry } from "../../src/handlers/registry.js";
import { createWebApp, type WebApp } from "../../src/web/app.js";
import { makeGrant } from "../../src/web/identity/grant.js";
import type { TestDatabase } from "../helpers/database.js";

/**
 * The jobs page for tests: the real app (createWebApp) on a test database, asked through its
 * own request function, as a browser would ask it: Host and, for a POST, a form body with
 * Sec-Fetch-Site: same-origin, unless the test says otherwise. `peer` is the socket's address
 * (a proxy's, for the trusted header).
 */
export interface PageRequest {
  method?: "GET" | "POST" | "PUT";
  form?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  cookie?: string;
  peer?: string;
}

export interface TestPage extends WebApp {
  config: Config;
  request(path: string, request?: PageRequest): Promise<Response>;
  /** A session cookie from a fresh grant for `user` with `roles` (needs web.grantSecret). */
  signIn(user: string, roles: string[]): Promise<string>;
}

export const GRANT_SECRET = "a-test-secret-that-is-long-enough-0123456789";

export async function makePage(
  database: TestDatabase,
  configured: Record<string, unknown> = {},
  options: { basePath?: string; readOnly?: boolean; now?: () => number } = {},
): Promise<TestPage> {
  const config = parseConfig({ database: { url: database.url }, ...configured }, { env: {} });
  const registry = await loadRegistry(config);
  const web = createWebApp({ config, db: database.db, registry, ...options });
  const request = (path: string, request: PageRequest = {}) => {
    const method = request.method ?? (request.form ? "POST" : "GET");
    const headers: Record<string, string> = { host: "localhost:8080", ...(request.cookie ? { cookie: request.cookie } : {}) };
    let body: string | undefined;
    if (request.form) {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(request.form)) for (const each of Array.isArray(value) ? value : [value]) params.append(name, each);
      body = params.toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    }
    if (method !== "GET") headers["sec-fetch-site"] = "same-origin";
    Object.assign(headers, request.headers);
    for (const [name, value] of Object.entries(headers)) if (value === "") delete headers[name];
    return Promise.resolve(
      web.app.request(
        `http://localhost:8080${path}`,
        { method, headers, body, redirect: "manual" },
        { incoming: { socket: { remoteAddress: request.peer ?? "127.0.0.1" } } },
      ),
    );
  };
  return {
    ...web,
    config,
    request,
    async signIn(user: string, roles: string[]) {
      const grant = makeGrant(
        { user, roles, exp: Math.floor(web.site.now() / 1000) + 60, nonce: `n${Math.random().toString(36).slice(2)}${Date.now()}` },
        GRANT_SECRET,
      );
      const response = await request(`${web.site.paths.home}?grant=${grant}`);
      if (response.status !== 200) throw new Error(`the grant for ${user} was refused (${response.status}): ${await response.text()}`);
      return sessionCookie(response);
    },
  };
}

/** The session cookie a response sets, as a Cookie header's value. */
export function sessionCookie(response: Response): string {
  const set = response.headers.get("set-cookie") ?? "";
  const match = /oj_session=[^;]+/.exec(set);
  if (!match) throw new Error(`no session cookie in ${JSON.stringify(set)}`);
  return match[0];
}
