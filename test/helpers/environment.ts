import fs from "node:fs";
import path from "node:path";
import { after, before } from "node:test";
import { makeTempDir, RECORD_HANDLER, writeConfig } from "./cli.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

export interface TestEnvironment {
  readonly db: TestDatabase;
  readonly dir: string;
}

/**
 * A database and a temporary folder for this test file: made before its tests, removed after.
 * `setup` runs once both exist. (Node 20 runs a file's `before` hooks concurrently, so a
 * second hook could not rely on the first having finished.)
 */
export function useTestEnvironment(prefix: string, setup?: (env: TestEnvironment) => Promise<void> | void): TestEnvironment {
  const env: { db?: TestDatabase; dir?: string } = {};
  const view: TestEnvironment = {
    get db() {
      return env.db!;
    },
    get dir() {
      return env.dir!;
    },
  };
  before(async () => {
    env.db = await createTestDatabase();
    env.dir = makeTempDir(prefix);
    await setup?.(view);
  });
  after(async () => {
    await env.db?.drop();
    if (env.dir) fs.rmSync(env.dir, { recursive: true, force: true });
  });
  return view;
}

/**
 * The config of one simulated host: its own hostName and lock folder (two hosts on one
 * machine share nothing but the database), the `record` test handler, short leases.
 */
export function hostConfig(env: TestEnvironment, host: string, overrides: Record<string, unknown> = {}, name = host): string {
  return writeConfig(
    env.dir,
    {
      database: { url: env.db.url },
      hostName: host,
      lockDir: path.join(env.dir, `locks-${name}`),
      leaseSeconds: 2,
      lockStaleSeconds: 2,
      handlers: [RECORD_HANDLER],
      ...overrides,
    },
    `${name}.json`,
  );
}

/** The last lines of a process's output, for assertion messages. */
export const tail = (text: string, lines = 12) => text.trim().split("\n").slice(-lines).join("\n");
