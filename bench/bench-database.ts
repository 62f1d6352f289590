import mysql from "mysql2/promise";
import { createTestDatabase } from "../test/helpers/database.js";
import { privateMariadbUnavailable, startPrivateMariadb } from "../test/helpers/private-mariadb.js";
import { localServerPid } from "./cpu-usage.js";

/** The bench's database: on a private server, or a test database on the shared one. */
export interface BenchDatabase {
  name: string;
  url: string;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** mariadbd's pid when it runs on this host. */
  serverPid?: number;
  drop(): Promise<void>;
}

/** Stock sizes (as a packaged server has them), so the private server is not a toy one. */
const PRIVATE_SERVER_OPTIONS = ["--innodb-buffer-pool-size=128M", "--innodb-log-file-size=96M"];

/**
 * A database for a benchmark: on a MariaDB of its own (so that server-wide counters count
 * only the bench's statements), or a test database on the shared test server.
 */
export async function openBenchDatabase(where: "private" | "shared", progress: (line: string) => void): Promise<{ db: BenchDatabase; where: string }> {
  const unavailable = privateMariadbUnavailable();
  if (where === "shared" || unavailable) {
    if (where === "private") progress(`no private server (${unavailable}): using the shared test server`);
    const test = await createTestDatabase({ migrate: false });
    return {
      db: { ...test, query: (sql, params) => test.query(sql, params), serverPid: await localServerPid((sql) => test.query(sql)) },
      where: "shared test server",
    };
  }
  const server = await startPrivateMariadb({ serverOptions: PRIVATE_SERVER_OPTIONS });
  try {
    const admin = await mysql.createConnection(server.serverUrl);
    await admin.query("CREATE DATABASE oj_scale CHARACTER SET utf8mb4");
    await admin.end();
  } catch (error) {
    await server.destroy();
    throw error;
  }
  const pool = mysql.createPool({ uri: `${server.serverUrl}/oj_scale`, connectionLimit: 2, supportBigNumbers: true });
  const query = async <T>(sql: string, params: unknown[] = []) => (await pool.query(sql, params))[0] as T[];
  return {
    db: {
      name: "oj_scale",
      url: `${server.serverUrl}/oj_scale`,
      query,
      serverPid: server.pid,
      drop: async () => {
        await pool.end().catch(() => undefined);
        await server.destroy();
      },
    },
    where: "a private MariaDB (nobody else's statements in the counters)",
  };
}
