import fs from "node:fs";
import { after } from "node:test";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { collect, killTree, startCli, waitFor, writeConfig } from "../helpers/cli.js";
import { useTestEnvironment, type TestEnvironment } from "../helpers/environment.js";

/**
 * A real browser on the real page: `offline-jobs web` started as the command is (on a free
 * loopback port, under the base path /jobs), and Debian's chromium (scripts/setup.sh installs
 * it; no browser download) driven by playwright-core, headless. Every page the browser opens
 * is watched: a dialog (alert, confirm) or an uncaught error fails the test that caused it.
 */
export const CHROMIUM = process.env.OFFLINE_JOBS_CHROMIUM ?? "/usr/bin/chromium";
export const BASE_PATH = "/jobs";

export interface BrowserSite {
  readonly env: TestEnvironment;
  /** http://127.0.0.1:PORT/jobs */
  readonly url: string;
  readonly config: string;
  /** A fresh browser context (its own cookies) and page, watched for dialogs and page errors. */
  open(): Promise<{ context: BrowserContext; page: Page; problems: string[] }>;
}

/**
 * Starts the page and the browser before the file's tests and stops them after. `config`
 * is laid over a loopback-only local-administrator config on the test database.
 */
export function useBrowserSite(prefix: string, config: (env: TestEnvironment) => Record<string, unknown> = () => ({})): BrowserSite {
  let browser: Browser | undefined;
  let server: ReturnType<typeof startCli> | undefined;
  let ended: Promise<unknown> | undefined;
  const state: { url?: string; config?: string } = {};
  const env = useTestEnvironment(prefix, async (env) => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: bash scripts/setup.sh installs Debian's chromium package`);
    const extra = config(env);
    state.config = writeConfig(env.dir, {
      database: { url: env.db.url },
      lockDir: `${env.dir}/locks`,
      ...extra,
      web: { localAdmin: true, basePath: BASE_PATH, ...((extra.web as object | undefined) ?? {}) },
    });
    server = startCli(["web", "--listen", "127.0.0.1:0"], { config: state.config });
    let stderr = "";
    server.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    ended = collect(server, 3_600_000).catch(() => undefined);
    const port = await waitFor(() => /jobs page at http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr)?.[1], "offline-jobs web to listen", 30_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}; it said:\n${stderr}`);
      },
    );
    state.url = `http://127.0.0.1:${port}${BASE_PATH}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  });
  after(async () => {
    await browser?.close();
    if (server) {
      server.kill("SIGTERM");
      const stopped = await Promise.race([ended, new Promise((resolve) => setTimeout(() => resolve("late"), 5000))]);
      if (stopped === "late") killTree(server);
    }
  });
  return {
    env,
    get url() {
      return state.url!;
    },
    get config() {
      return state.config!;
    },
    async open() {
      const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("dialog", (dialog) => {
        problems.push(`a dialog opened: ${dialog.type()} ${dialog.message()}`);
        void dialog.dismiss();
      });
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console error: ${message.text()}`);
      });
      return { context, page, problems };
    },
  };
}

/** The little of the browser's globals the waits read. */
export interface BrowserGlobals {
  document: { querySelector(selector: string): { textContent: string | null } | null };
}

/** Playwright's own waits, with a message that says what the page never showed. */
export async function waitForText(page: Page, selector: string, text: string | RegExp, timeoutMs = 15_000): Promise<void> {
  await page.waitForFunction(
    ({ selector, source, flags }) => {
      // Runs in the page, whose globals this file's (Node) types do not know.
      const element = (globalThis as unknown as BrowserGlobals).document.querySelector(selector);
      return element !== null && new RegExp(source, flags).test(element.textContent ?? "");
    },
    {
      selector,
      source: typeof text === "string" ? text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") : text.source,
      flags: typeof text === "string" ? "" : text.flags,
    },
    { timeout: timeoutMs },
  );
}
