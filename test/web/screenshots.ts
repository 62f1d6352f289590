import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { parseConfig } from "../../src/config/load-config.js";
import { loadRegistry } from "../../src/handlers/registry.js";
import { createWebApp } from "../../src/web/app.js";
import { startServer } from "../../src/web/server.js";
import { ROOT } from "../helpers/cli.js";
import { createTestDatabase } from "../helpers/database.js";
import { CHROMIUM } from "./browser-harness.js";

/**
 * `npm run screenshots`: the README's pictures of the jobs page (docs/screenshots/*.png),
 * taken by the same chromium the browser tests drive, of a throw-away database filled with a
 * day of plausible jobs. Not a test: run it after changing how the page looks.
 */

const TYPES = ["create_previews", "extract_text", "collection_download", "command"];
const USERS = ["alice", "bob", "carol", "cli:deploy"];
const OUT = path.join(ROOT, "docs", "screenshots");

/** A day of jobs: finished ones spread over 24 hours with their durations, some failed, some waiting, one running. */
async function fill(database: Awaited<ReturnType<typeof createTestDatabase>>): Promise<number> {
  const now = Date.now();
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < 420; i++) {
    const type = TYPES[Math.floor(random() * TYPES.length)]!;
    const finished = new Date(now - random() * 23.5 * 3_600_000);
    const seconds = type === "collection_download" ? 20 + random() * 90 : type === "create_previews" ? 1 + random() * 6 : 0.2 + random() * 3;
    const failed = random() < 0.06;
    await database.insertJob(
      type,
      { source: `/srv/filestore/${1000 + i}.pdf`, resource: 1000 + i },
      {
        user: USERS[Math.floor(random() * USERS.length)],
        status: failed ? "failed" : "complete",
        attempts: failed ? 3 : 1,
        created_at: new Date(finished.getTime() - seconds * 1000 - 2000),
        started_at: new Date(finished.getTime() - seconds * 1000),
        finished_at: finished,
        error: failed ? "pdftotext exited with code 1: Syntax Error: Couldn't find trailer dictionary" : null,
        result: failed ? null : JSON.stringify({ notice: `Job done: ${type}` }),
      },
    );
  }
  for (let i = 0; i < 14; i++)
    await database.insertJob(TYPES[i % 2]!, { source: `/srv/filestore/${2000 + i}.jpg` }, { user: USERS[i % 3], priority: i < 3 ? 1 : 2 });
  const at = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString();
  const log = [
    `[${at(19.8)}] info attempt 1 of 3 on web-1:4211`,
    `[${at(19.7)}] info collecting 1,240 files (2.1 GiB)`,
    `[${at(13.1)}] info 310 of 1,240 files added`,
    `[${at(6.6)}] info 620 of 1,240 files added`,
    `[${at(1.2)}] info 790 of 1,240 files added`,
    "",
  ].join("\n");
  return database.insertJob(
    "collection_download",
    { files: [{ path: "/srv/filestore/1001.tif" }], name: "Annual report images", password: "not shown" },
    {
      user: "alice",
      status: "running",
      attempts: 1,
      progress: 64,
      locked_by: "web-1:4211",
      created_at: new Date(now - 21_000),
      run_after: new Date(now - 21_000),
      started_at: new Date(now - 20_000),
      lease_until: new Date(now + 60_000),
      log,
    },
  );
}

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const config = parseConfig({ database: { url: database.url }, web: { localAdmin: true } }, { env: {} });
  const { app } = createWebApp({ config, db: database.db, registry: await loadRegistry(config), basePath: "/jobs" });
  const server = await startServer(app, "127.0.0.1", 0);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  try {
    const running = await fill(database);
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
    const base = `http://127.0.0.1:${server.address.port}/jobs`;
    fs.mkdirSync(OUT, { recursive: true });
    for (const [name, url] of [
      ["overview", "/"],
      ["jobs", "/jobs?size=15"],
      ["job", `/job/${running}`],
    ] as const) {
      await page.goto(`${base}${url}`);
      await page.waitForTimeout(600);
      await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: name !== "jobs" });
      process.stdout.write(`wrote docs/screenshots/${name}.png\n`);
    }
  } finally {
    await browser.close();
    await server.close(0);
    await database.drop();
  }
}

await main();
