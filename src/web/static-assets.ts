import { createHash } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * What the browser loads besides the pages, all from this server (no CDN): htmx 2.0.x from its
 * npm package, and the page's own stylesheets and script from src/web/static (shipped in the
 * package, read once at start-up). Each URL carries a hash of the file's content (?v=…), so
 * the files can be cached for a year and a new version is fetched the moment it changes.
 */
export interface Asset {
  body: Buffer;
  type: string;
  version: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** From dist/cli (the command's bundle), dist/src/web (compiled) or src/web (the sources), the folder of app.css and app.js. */
const STATIC_DIR = [path.resolve(here, "../../src/web/static"), path.resolve(here, "../../../src/web/static"), path.resolve(here, "static")].find((dir) =>
  fs.existsSync(path.join(dir, "app.css")),
);

function load(file: string, type: string): Asset {
  const body = fs.readFileSync(file);
  return { body, type, version: createHash("sha256").update(body).digest("hex").slice(0, 12) };
}

function loadAssets(): Record<string, Asset> {
  if (!STATIC_DIR) throw new Error(`the jobs page's static files (app.css, app.js) are missing: looked in ${here}`);
  const htmx = createRequire(import.meta.url).resolve("htmx.org/dist/htmx.min.js");
  return {
    "htmx.min.js": load(htmx, "text/javascript; charset=utf-8"),
    "app.js": load(path.join(STATIC_DIR, "app.js"), "text/javascript; charset=utf-8"),
    "app.css": load(path.join(STATIC_DIR, "app.css"), "text/css; charset=utf-8"),
    "views.css": load(path.join(STATIC_DIR, "views.css"), "text/css; charset=utf-8"),
  };
}

export const ASSETS: Readonly<Record<string, Asset>> = loadAssets();

/** The versioned file name under <base>/static/. */
export function assetName(name: "htmx.min.js" | "app.js" | "app.css" | "views.css"): string {
  return `${name}?v=${ASSETS[name]!.version}`;
}
