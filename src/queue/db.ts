import mysql from "mysql2/promise";
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { redactUrl } from "../config/load-config.js";
import { FatalError } from "../errors.js";

export type { Pool, PoolConnection, ResultSetHeader, RowDataPacket };

/** Something that runs SQL: the pool, or one connection inside a transaction. */
export type Sql = Pool | PoolConnection;

export interface Database {
  pool: Pool;
  /**
   * The claim's own small pool, the only one that allows several statements per query: a
   * claim sends its UPDATE and the SELECT of what it claimed in one round trip (claim.ts).
   * Everything else, the operator's SQL templates included, goes through `pool`, where a
   * statement stays one statement.
   */
  claimPool: Pool;
  /** The job table's name, checked as an identifier by the config schema; `quoted` is safe to splice. */
  table: string;
  quoted: (suffix?: string) => string;
  url: string;
  close(): Promise<void>;
}

/** Connections of a claim pool, and so the claims one run keeps in flight at most (run-queue.ts). */
export const CLAIM_CONNECTIONS = 2;

export function openDatabase(url: string | undefined, table: string, poolSize = 4): Database {
  if (!url) {
    throw new FatalError("no database configured: set database.url in the config or OFFLINE_JOBS_DATABASE_URL");
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new FatalError(`database.table: "${table}" is not a plain SQL identifier`);
  let pool: Pool;
  let claimPool: Pool;
  try {
    pool = createPool(url, poolSize, false);
    claimPool = createPool(url, CLAIM_CONNECTIONS, true);
  } catch (error) {
    throw new FatalError(`database.url ${redactUrl(url)} is not usable: ${(error as Error).message}`);
  }
  return {
    pool,
    claimPool,
    table,
    url,
    quoted: (suffix = "") => `\`${table}${suffix}\``,
    close: async () => {
      await Promise.all([pool.end(), claimPool.end()]);
    },
  };
}

/** Pools open their connections when first used, so an idle claim pool costs nothing. */
function createPool(url: string, connectionLimit: number, multipleStatements: boolean): Pool {
  const pool = mysql.createPool({
    uri: url,
    connectionLimit,
    multipleStatements,
    // DATETIMEs stay in the server's time zone, as strings: every comparison is made by
    // the server with NOW(3), never against this host's clock.
    dateStrings: true,
    supportBigNumbers: true,
    charset: "utf8mb4",
    enableKeepAlive: true,
    connectTimeout: 10_000,
    // mysql2 otherwise captures the caller's stack on every query, to put it on errors. It
    // cost about a tenth of the client's CPU per job in bench/throughput's claims and
    // outcomes; our errors are reported by their message and errno, never by that stack.
    trace: false,
  });
  // READ COMMITTED: a claim's locking SELECT then takes no gap locks, so an application's
  // INSERT is never blocked behind a claim, and rows that fail the WHERE are unlocked at once.
  pool.on("connection", (connection) => {
    connection.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
  });
  return pool;
}

/** MySQL/MariaDB errors that mean "the same transaction will probably work if tried again". */
const RETRYABLE_ERRNOS = new Set([1213 /* deadlock */, 1205 /* lock wait timeout */]);

export function isRetryableSqlError(error: unknown): boolean {
  return RETRYABLE_ERRNOS.has((error as { errno?: number })?.errno ?? -1);
}

/** Errors meaning the server is gone or unreachable, as opposed to a bad statement. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? "";
  return (
    ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "PROTOCOL_CONNECTION_LOST", "ER_SERVER_SHUTDOWN"].includes(code) ||
    code.startsWith("PROTOCOL_") ||
    (error as { fatal?: boolean })?.fatal === true
  );
}

/**
 * Runs `work` in a transaction on one connection. Deadlocks and lock-wait timeouts are
 * retried here, with a short jittered pause, so they never surface as job failures.
 */
export async function withTransaction<T>(db: Database, work: (sql: PoolConnection) => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const connection = await db.pool.getConnection();
    try {
      await connection.beginTransaction();
      const value = await work(connection);
      await connection.commit();
      return value;
    } catch (error) {
      await connection.rollback().catch(() => undefined);
      if (!isRetryableSqlError(error) || attempt >= attempts) throw error;
      await sleep(5 * 2 ** attempt * (0.5 + Math.random()));
    } finally {
      connection.release();
    }
  }
}

/** A single statement with the same deadlock retry. */
export async function withRetry<T>(work: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isRetryableSqlError(error) || attempt >= attempts) throw error;
      await sleep(5 * 2 ** attempt * (0.5 + Math.random()));
    }
  }
}

export async function rows<T>(sql: Sql, statement: string, params: unknown[] = []): Promise<T[]> {
  const [result] = await sql.query<RowDataPacket[]>(statement, params);
  return result as unknown as T[];
}

export async function execute(sql: Sql, statement: string, params: unknown[] = []): Promise<ResultSetHeader> {
  const [result] = await sql.query<ResultSetHeader>(statement, params);
  return result;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
