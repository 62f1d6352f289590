import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import type { AppEnv } from "./site.js";

/**
 * The HTTP server: the only module that imports @hono/node-server, so that another server (or
 * runtime) means changing this file alone. Resolves once it listens; `close` stops accepting,
 * then ends the connections still open (live logs hold theirs) after `graceMs`.
 */
export interface RunningServer {
  address: { host: string; port: number };
  close(graceMs?: number): Promise<void>;
}

export function startServer(app: Hono<AppEnv>, host: string, port: number): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host.replace(/^\[|\]$/g, ""), port }, (info) => {
      resolve({
        address: { host: info.address, port: info.port },
        close: (graceMs = 2000) => closeServer(server as Server, graceMs),
      });
    }) as Server;
    server.once("error", reject);
  });
}

function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
