import mysql from "mysql2/promise";
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { redactUrl } from "../config/redact-url.js";
import { DatabaseSilentError, FatalError } from "../errors.js";

/** Where run-queue.ts and the CLI look for it; the class lives with the others in src/errors.ts. */
export { DatabaseSilentError };

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
  /**
   * Cuts every open connection of both pools at once, without a goodbye to the server:
   * queries waiting on them fail with a connection error, and the pools open new connections
   * when next asked. For a server that stopped answering without closing anything (frozen,
   * or behind a network partition), where a query would otherwise wait for hours.
   */
  abandon(): void;
  /** Since abandon(), until a new connection has been made: cleanup writes are not worth trying. */
  readonly abandoned: boolean;
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
  const open = new Set<CoreConnection>();
  let abandoned = false;
  const tracker: ConnectionTracker = {
    connected: (connection) => {
      abandoned = false;
      open.add(connection);
    },
    gone: (connection) => open.delete(connection),
  };
  try {
    pool = createPool(url, poolSize, false, tracker);
    claimPool = createPool(url, CLAIM_CONNECTIONS, true, tracker);
  } catch (error) {
    throw new FatalError(`database.url ${redactUrl(url)} is not usable: ${(error as Error).message}`);
  }
  return {
    pool,
    claimPool,
    table,
    url,
    quoted: (suffix = "") => `\`${table}${suffix}\``,
    abandon: () => {
      abandoned = true;
      for (const connection of open) connection.stream.destroy();
      open.clear();
    },
    get abandoned() {
      return abandoned;
    },
    close: async () => {
      const ended = Promise.all([pool.end(), claimPool.end()]);
      // After abandon(), a connection still in its handshake with the silent server would hold
      // end() until its connect timeout: nothing is left to say goodbye to, so do not wait.
      if (abandoned) ended.catch(() => undefined);
      else await ended;
    },
  };
}

/** What abandon() needs of mysql2's connection under the promise wrapper: its socket. */
interface CoreConnection {
  stream: { destroy(): void };
  once(event: "end" | "error", listener: () => void): unknown;
}

/** The open connections of a Database's pools, for abandon(). */
interface ConnectionTracker {
  connected(connection: CoreConnection): void;
  gone(connection: CoreConnection): void;
}

/** The session's sql_mode as the server's, less NO_BACKSLASH_ESCAPES (the only flag that changes how a quoted value is read). */
export const SQL_MODE_WITH_BACKSLASH_ESCAPES =
  "SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','))";

/** Pools open their connections when first used, so an idle claim pool costs nothing. */
function createPool(url: string, connectionLimit: number, multipleStatements: boolean, tracker: ConnectionTracker): Pool {
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
    // mysql2 escapes `?` values on this side, with backslashes. A server whose sql_mode has
    // NO_BACKSLASH_ESCAPES reads `\'` as a backslash and the end of the string, so a value
    // could close its literal and write SQL (SECURITY.md, "SQL"): this session takes the
    // server's mode without that flag. The commands of a connection run in order, so this
    // runs before any statement of ours; if it fails, the connection is not used at all.
    // (The event hands over mysql2's callback connection, whatever the promise types say.)
    const callbacks = connection as unknown as { query(sql: string, done: (error: unknown) => void): void; destroy(): void };
    callbacks.query(SQL_MODE_WITH_BACKSLASH_ESCAPES, (error) => {
      if (error) callbacks.destroy();
    });
    // Destroying the socket (not end(), which waits for the server's reply) fails the query
    // in flight with PROTOCOL_CONNECTION_LOST, and mysql2 drops the connection from its pool.
    const core = connection as unknown as CoreConnection;
    tracker.connected(core);
    core.once("end", () => tracker.gone(core));
    core.once("error", () => tracker.gone(core));
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
    error instanceof DatabaseSilentError ||
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

/** The cheapest statement the server must answer: the heartbeat's sign of life while a run holds no job. */
export async function ping(db: Database): Promise<void> {
  await db.pool.query("DO 1");
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
