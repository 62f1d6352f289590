import { redactUrl } from "../config/redact-url.js";
import { DatabaseSilentError, FatalError } from "../errors.js";
import { isNodeError, mayResend, NODE_CONNECT_TIMEOUT_MS, NodeFailover, tookNoEffect, WSREP_NOT_READY } from "./node-failover.js";
import { ServerNode, type PoolConnection, type ResultSetHeader, type RowDataPacket } from "./server-node.js";

/** Where run-queue.ts and the CLI look for it; the class lives with the others in src/errors.ts. */
export { DatabaseSilentError };

export type { PoolConnection, ResultSetHeader, RowDataPacket };
export { SQL_MODE_WITH_BACKSLASH_ESCAPES } from "./server-node.js";

/**
 * What the Database's pools offer: a statement on a connection of the node in use, or a
 * connection of it for a transaction (node-failover.ts moves between a cluster's nodes).
 */
export interface SqlPool {
  query: PoolConnection["query"];
  getConnection(): Promise<PoolConnection>;
}

/** Something that runs SQL: a pool, or one connection inside a transaction. */
export type Sql = SqlPool | PoolConnection;

export interface Database {
  pool: SqlPool;
  /**
   * The claim's own small pool, the only one that allows several statements per query: a
   * claim sends its UPDATE and the SELECT of what it claimed in one round trip (claim.ts).
   * Everything else, the operator's SQL templates included, goes through `pool`, where a
   * statement stays one statement.
   */
  claimPool: SqlPool;
  /** The job table's name, checked as an identifier by the config schema; `quoted` is safe to splice. */
  table: string;
  quoted: (suffix?: string) => string;
  /** The URL of the node in use (the only one, unless the config lists a cluster's nodes). */
  readonly url: string;
  /** How many servers the config names (several: the nodes of a cluster, node-failover.ts). */
  readonly nodes: number;
  /**
   * A statement of this process has waited `ms` for the node in use (the heartbeat tells):
   * with another node to go to, the node is probed, and left if it does not answer.
   */
  stalled(ms: number): void;
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

export interface DatabaseOptions {
  /**
   * The command reads what was just written, perhaps through another node of a cluster
   * (`add --wait`, `cancel`, `show --follow`): on a Galera node its sessions wait for the
   * cluster's earlier commits before each read (wsrep_sync_wait). Nothing on other servers.
   */
  readsFollowWrites?: boolean;
  /** Hears the one line that says the process moved from one node of a cluster to another. */
  onNodeChange?: (line: string) => void;
}

export { CLAIM_CONNECTIONS } from "./server-node.js";

/** The failover of each Database, for withTransaction (which holds one connection, not a pool). */
const failovers = new WeakMap<Database, NodeFailover<PoolConnection, ServerNode>>();
/** The node each connection handed out came from. */
const nodeOf = new WeakMap<PoolConnection, ServerNode>();

export function openDatabase(urls: string | string[] | undefined, table: string, poolSize = 4, options: DatabaseOptions = {}): Database {
  const list = typeof urls === "string" ? [urls] : (urls ?? []);
  if (list.length === 0) {
    throw new FatalError("no database configured: set database.url in the config or OFFLINE_JOBS_DATABASE_URL");
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new FatalError(`database.table: "${table}" is not a plain SQL identifier`);
  let abandoned = false;
  const settings = {
    poolSize,
    readsFollowWrites: options.readsFollowWrites === true,
    // One server: nowhere else to go, so no check either (not a statement more than before).
    // Several: every new connection first asks its node whether it is ready.
    checkReady: list.length > 1,
    connectTimeout: list.length > 1 ? NODE_CONNECT_TIMEOUT_MS : 10_000,
    connected: () => (abandoned = false),
  };
  const nodes = list.map((url, i) => {
    try {
      return new ServerNode(url, settings);
    } catch (error) {
      throw new FatalError(`database.url${list.length > 1 ? `s[${i}]` : ""} ${redactUrl(url)} is not usable: ${(error as Error).message}`);
    }
  });
  const failover = new NodeFailover<PoolConnection, ServerNode>(nodes, options.onNodeChange);
  const pool = failoverPool(failover, false);
  const claimPool = failoverPool(failover, true);
  const db: Database = {
    pool,
    claimPool,
    table,
    get url() {
      return failover.current.url;
    },
    nodes: nodes.length,
    quoted: (suffix = "") => `\`${table}${suffix}\``,
    stalled: (ms) => failover.stalled(ms),
    abandon: () => {
      abandoned = true;
      for (const node of nodes) node.cut();
    },
    get abandoned() {
      return abandoned;
    },
    close: async () => {
      const ended = Promise.all(nodes.map((node) => node.end()));
      // After abandon(), a connection still in its handshake with the silent server would hold
      // end() until its connect timeout: nothing is left to say goodbye to, so do not wait.
      if (abandoned) ended.catch(() => undefined);
      else await ended;
    },
  };
  failovers.set(db, failover);
  return db;
}

/** The pool a Database hands out: each statement on the node in use (node-failover.ts). */
function failoverPool(failover: NodeFailover<PoolConnection, ServerNode>, claim: boolean): SqlPool {
  return {
    query: ((statement: string, values?: unknown) => failover.query(statement, values, claim)) as PoolConnection["query"],
    getConnection: async () => {
      const { connection, node } = await failover.acquire(claim);
      nodeOf.set(connection, node);
      return connection;
    },
  };
}

/**
 * MySQL/MariaDB errors that mean "the same transaction will probably work if tried again". On
 * Galera, 1213 is also a certification failure: another node committed a conflicting change
 * first (at COMMIT, or when that node's change aborted ours on the way), and ours was rolled
 * back whole; 1047 is a node that refused the statement because it is not ready (it ran
 * nothing), which with several nodes is left for the next (node-failover.ts).
 */
const RETRYABLE_ERRNOS = new Set([1213 /* deadlock, or a certification failure */, 1205 /* lock wait timeout */, WSREP_NOT_READY]);

export function isRetryableSqlError(error: unknown): boolean {
  return RETRYABLE_ERRNOS.has((error as { errno?: number })?.errno ?? -1);
}

/** Errors meaning the server is gone, unreachable or not ready, as opposed to a bad statement. */
export function isConnectionError(error: unknown): boolean {
  return error instanceof DatabaseSilentError || isNodeError(error);
}

/**
 * Statements and transactions of this process retried after a deadlock, a lock wait timeout or
 * a certification failure (every Database's): a run reports how many it met, beside its claims,
 * at debug level; on Galera nearly all of them are claims that lost to another node's.
 */
let conflictRetries = 0;

export function retriedConflicts(): number {
  return conflictRetries;
}

/** The pause before retry number `attempt` + 1 of a deadlock or certification failure: 10, 20, 40, 80, 160 ms, each ±50 %. */
function retryPause(attempt: number): Promise<void> {
  conflictRetries++;
  return sleep(5 * 2 ** attempt * (0.5 + Math.random()));
}

/**
 * Runs `work` in a transaction on one connection. Deadlocks, lock-wait timeouts and
 * certification failures are retried here, with a short jittered pause, so they never surface
 * as job failures: each rolled the whole transaction back. So is a transaction whose node
 * failed before its COMMIT was sent, or whose COMMIT it failed (not ready, no Primary
 * component), on the next node when the process moved to one; a node lost during the COMMIT
 * leaves the outcome unknown, and the error goes back to the caller. A transaction out for 3 s
 * has its node probed (NodeFailover.watch), so a node that froze under it is left, not waited on.
 */
export async function withTransaction<T>(db: Database, work: (sql: PoolConnection) => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const connection = await db.pool.getConnection();
    const node = nodeOf.get(connection);
    const failover = failovers.get(db);
    const watch = node && failover?.watch(node);
    let committing = false;
    try {
      await connection.beginTransaction();
      const value = await work(connection);
      committing = true;
      await connection.commit();
      return value;
    } catch (error) {
      await connection.rollback().catch(() => undefined);
      const movedOn = node !== undefined && failover?.failed(node, error, true) === true;
      if (attempt >= attempts) throw error;
      if (movedOn && (!committing || tookNoEffect(error))) continue;
      if (!isRetryableSqlError(error)) throw error;
      await retryPause(attempt);
    } finally {
      clearInterval(watch);
      connection.release();
    }
  }
}

export interface RetryOptions {
  attempts?: number;
  /**
   * A statement whose node failed under it, after the process moved to another node: "resend"
   * (the default) sends it again there, for statements that are safe to send twice (fenced
   * updates, renewals, purges); "throw" leaves it to the caller (an operator's SQL template,
   * which may be an INSERT). A claim's statement is never sent again (node-failover.ts).
   */
  lostWithNode?: "resend" | "throw";
}

/** A single statement with the same deadlock and certification-failure retry. */
export async function withRetry<T>(work: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 6;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts) throw error;
      if (mayResend(error) && options.lostWithNode !== "throw") continue;
      if (!isRetryableSqlError(error)) throw error;
      await retryPause(attempt);
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
