import type { Hono } from "hono";
import { ASSETS } from "../static-assets.js";
import type { AppEnv, Site } from "../site.js";

/** htmx, app.js and app.css: a versioned URL (?v=hash) is cached for a year; any other, revalidated. */
export function staticRoutes(app: Hono<AppEnv>, site: Site): void {
  app.get(site.paths.to("/static/:name"), (c) => {
    const name = c.req.param("name") ?? "";
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name]! : undefined;
    if (!asset) return c.text("no such file", 404);
    const current = c.req.query("v") === asset.version;
    return c.body(new Uint8Array(asset.body), 200, {
      "Content-Type": asset.type,
      "Cache-Control": current ? "public, max-age=31536000, immutable" : "no-cache",
    });
  });
}
