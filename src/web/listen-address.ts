import net from "node:net";
import type { WebConfig } from "../config/schema.js";
import { FatalError, UsageError } from "../errors.js";
import { identityConfigured } from "./identity/identity.js";

export interface ListenAddress {
  host: string;
  port: number;
}

/** "127.0.0.1:8080", "[::1]:8080", "localhost:8080"; ":8080" is every address. */
export function parseListen(text: string): ListenAddress {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65_535) throw new UsageError(`--listen: "${text.slice(0, 100)}" is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)`);
  const host = match[1]!.replace(/^\[|\]$/g, "");
  if (host.includes(":") && net.isIP(host) !== 6) throw new UsageError(`--listen: "${host}" is not an IPv6 address`);
  return { host: host === "" ? "0.0.0.0" : host, port };
}

/** 127.0.0.0/8, ::1, localhost: only this machine can connect. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Closed by default: with no identity configured (no grant secret, trusted header or
 * built-in user who can sign in), the page shows every job to whoever connects, so it
 * listens only on loopback (reach it through an SSH tunnel), and refuses any other address.
 */
export function checkListen(address: ListenAddress, web: WebConfig): void {
  if (identityConfigured(web) || isLoopback(address.host)) return;
  throw new FatalError(
    `refusing to listen on ${address.host}:${address.port}: no identity is configured (web.grantSecret, web.trustedHeader or web.users with a passwordHash), so anyone who can reach that address would see every job. Listen on 127.0.0.1, or configure an identity (README, "The jobs page")`,
  );
}
