import type { Context } from "hono";
import type { Config } from "../config/schema.js";
import type { Registry } from "../handlers/registry.js";
import type { Database } from "../queue/db.js";
import { AddressSet } from "./identity/client-address.js";
import type { Identity } from "./identity/identity.js";
import { LoginLimiter } from "./identity/login-limiter.js";
import { NonceStore } from "./identity/nonce-store.js";
import { SessionKeeper } from "./identity/session.js";
import { Paths } from "./paths.js";

/** What the page is built from: the same config, database and handlers the commands use. */
export interface SiteOptions {
  config: Config;
  db: Database;
  registry: Registry;
  /** Replaces web.basePath (--base-path). */
  basePath?: string;
  /** Replaces web.readOnly (--read-only). */
  readOnly?: boolean;
  /** The clock, in milliseconds (tests move it to expire grants and sessions). */
  now?: () => number;
}

/** The page's state for its whole life: its settings, and the in-memory stores of its identities. */
export interface Site {
  config: Config;
  db: Database;
  registry: Registry;
  paths: Paths;
  readOnly: boolean;
  now: () => number;
  sessions: SessionKeeper;
  nonces: NonceStore;
  logins: LoginLimiter;
  proxies: AddressSet;
}

export function makeSite(options: SiteOptions): Site {
  const web = options.config.web;
  return {
    config: options.config,
    db: options.db,
    registry: options.registry,
    paths: new Paths(options.basePath ?? web.basePath),
    readOnly: options.readOnly ?? web.readOnly,
    now: options.now ?? Date.now,
    sessions: new SessionKeeper(Math.round(web.sessionHours * 3600)),
    nonces: new NonceStore(),
    logins: new LoginLimiter(),
    proxies: new AddressSet(web.trustedHeader?.proxies ?? []),
  };
}

/**
 * What the node server hands each request (src/web/server.ts): the socket, for the peer's
 * address. Tests going through app.request() pass the same shape.
 */
export interface WebBindings {
  incoming?: { socket?: { remoteAddress?: string } };
}

export type AppEnv = {
  Bindings: WebBindings;
  Variables: { identity: Identity; secureHeadersNonce?: string };
};

export type WebContext = Context<AppEnv>;

/** The peer's address as the socket has it (a proxy's, behind one). */
export function peerAddress(c: WebContext): string | undefined {
  return c.env?.incoming?.socket?.remoteAddress;
}

export function nowSeconds(site: Site): number {
  return Math.floor(site.now() / 1000);
}
