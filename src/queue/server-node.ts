import mysql from "mysql2/promise";
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { CAUSAL_WAIT_SQL, isNodeError, notReadyError, WSREP_STATUS_SQL, wsrepState, type FailoverNode } from "./node-failover.js";

/*
 * mysql2's one home: a server's connection pools (db.ts's Database holds one ServerNode per
 * server the config names; node-failover.ts chooses between them).
 */

export type { PoolConnection, ResultSetHeader, RowDataPacket };

/** Connections of a claim pool, and so the claims one run keeps in flight at most (run-queue.ts). */
export const CLAIM_CONNECTIONS = 2;

/** What abandon() needs of mysql2's connection under the promise wrapper: its socket. */
interface CoreConnection {
  stream: { destroy(): void };
  once(event: "end" | "error", listener: () => void): unknown;
}

/** The session's sql_mode as the server's, less NO_BACKSLASH_ESCAPES (the only flag that changes how a quoted value is read). */
export const SQL_MODE_WITH_BACKSLASH_ESCAPES =
  "SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','))";

export interface NodeSettings {
  poolSize: number;
  readsFollowWrites: boolean;
  checkReady: boolean;
  connectTimeout: number;
  /** A connection was made (to any node): the database answers again. */
  connected(): void;
}

/** One server: its two pools (opened lazily, so a node not in use costs nothing), its open connections, its readiness. */
export class ServerNode implements FailoverNode<PoolConnection> {
  readonly where: string;
  private readonly pool: Pool;
  private readonly claimPool: Pool;
  private readonly open = new Set<CoreConnection>();
  /** Each new connection's setup, which acquire() waits for: the readiness check when there is one. */
  private readonly setups = new WeakMap<object, Promise<void>>();

  constructor(
    readonly url: string,
    private readonly settings: NodeSettings,
  ) {
    this.where = nodeName(url);
    this.pool = this.createPool(settings.poolSize, false);
    this.claimPool = this.createPool(CLAIM_CONNECTIONS, true);
  }

  async acquire(claim: boolean): Promise<PoolConnection> {
    const connection = await (claim ? this.claimPool : this.pool).getConnection();
    try {
      await this.setups.get(connection.connection);
    } catch (error) {
      connection.release();
      throw error;
    }
    return connection;
  }

  cut(): void {
    for (const connection of this.open) connection.stream.destroy();
    this.open.clear();
  }

  async probe(timeoutMs: number): Promise<string | undefined> {
    let connection: mysql.Connection | undefined;
    let late = false;
    const answer = (async () => {
      connection = await mysql.createConnection({ uri: this.url, connectTimeout: timeoutMs });
      if (late) connection.destroy();
      const [status] = await connection.query(WSREP_STATUS_SQL);
      const { problem } = wsrepState(status);
      return problem ? `is not ready (${problem})` : undefined;
    })().catch((error: unknown) => (isNodeError(error) ? `does not answer (${(error as { code?: string }).code ?? "error"})` : undefined));
    let timer: NodeJS.Timeout | undefined;
    const silence = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`has not answered for ${Math.round(timeoutMs / 1000)} s`), timeoutMs)));
    try {
      return await Promise.race([answer, silence]);
    } finally {
      clearTimeout(timer);
      late = true;
      connection?.destroy();
    }
  }

  async end(): Promise<void> {
    await Promise.all([this.pool.end(), this.claimPool.end()]);
  }

  /** Pools open their connections when first used, so an idle claim pool costs nothing. */
  private createPool(connectionLimit: number, multipleStatements: boolean): Pool {
    const pool = mysql.createPool({
      uri: this.url,
      connectionLimit,
      multipleStatements,
      // DATETIMEs stay in the server's time zone, as strings: every comparison is made by
      // the server with NOW(3), never against this host's clock.
      dateStrings: true,
      supportBigNumbers: true,
      charset: "utf8mb4",
      enableKeepAlive: true,
      connectTimeout: this.settings.connectTimeout,
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
      const callbacks = connection as unknown as Callbacks;
      callbacks.query(SQL_MODE_WITH_BACKSLASH_ESCAPES, (error) => {
        if (error) callbacks.destroy();
      });
      if (this.settings.checkReady || this.settings.readsFollowWrites) this.setups.set(connection, this.checkReady(callbacks));
      // Destroying the socket (not end(), which waits for the server's reply) fails the query
      // in flight with PROTOCOL_CONNECTION_LOST, and mysql2 drops the connection from its pool.
      const core = connection as unknown as CoreConnection;
      this.settings.connected();
      this.open.add(core);
      core.once("end", () => this.open.delete(core));
      core.once("error", () => this.open.delete(core));
    });
    return pool;
  }

  /**
   * The one statement a new connection costs when it matters: is this a Galera node, and is it
   * ready (node-failover.ts's wsrepState)? A node that is not is refused, with several nodes
   * to choose from; with one, it is used as it is, as it always was. A Galera session of a
   * command whose reads follow writes gets its causal wait, before any statement of the caller.
   */
  private checkReady(connection: Callbacks): Promise<void> {
    return new Promise((resolve, reject) => {
      connection.query(WSREP_STATUS_SQL, (error, status) => {
        if (error) {
          connection.destroy();
          return reject(error as Error);
        }
        const state = wsrepState(status);
        if (state.problem && this.settings.checkReady) {
          connection.destroy();
          return reject(notReadyError(this.where, state.problem));
        }
        if (state.galera && this.settings.readsFollowWrites) connection.query(CAUSAL_WAIT_SQL, () => undefined);
        resolve();
      });
    });
  }
}

/** mysql2's callback connection, as the pool's "connection" event hands it over. */
interface Callbacks {
  query(sql: string, done: (error: unknown, rows?: unknown) => void): void;
  destroy(): void;
}

/** host:port of a URL, for log lines: never the user or password. */
function nodeName(url: string): string {
  try {
    const { hostname, port } = new URL(url);
    return `${hostname}:${port || 3306}`;
  } catch {
    return "(unparsable URL)";
  }
}
