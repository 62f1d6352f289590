/*
 * Several servers in the config (`database.urls`): the nodes of one cluster, Galera above all,
 * where every node takes writes. A process uses one node at a time, the first listed to begin
 * with, and moves to the next (round the list) when its node is lost, stops answering or is not
 * ready, saying so in one log line. This file is the policy: which node, when to move, which
 * statements may be sent again after a move. db.ts owns the mechanics (a pool per node, the
 * readiness check on each new connection, cutting a node's connections); docs/operations.md,
 * "Running on a cluster", says what an operator sees.
 *
 * Why not mysql2's PoolCluster: it leaves a node only when getting a connection fails, and only
 * after removeNodeErrorCount failures (5 by default), then drops it for good unless
 * restoreNodeTimeout is set; it cannot see a node that accepts connections but is not Synced
 * (a donor, a non-primary component) or one that accepts them and never answers (a frozen
 * process, a partition), and the claim's own pool (several statements per query) would be a
 * second cluster that moves on its own. One pool per node and one "current node" for both
 * pools is less code than working around those.
 */

/** One node as the failover sees it (db.ts's ServerNode). */
export interface FailoverNode<C extends NodeConnection> {
  /** host:port, for log lines (never the password). */
  readonly where: string;
  /** A connection of the node's pool (`claim`: the claim's own pool), once its readiness check passed. */
  acquire(claim: boolean): Promise<C>;
  /** Cuts every open connection to the node: statements waiting on them fail at once. */
  cut(): void;
  /** Asks the node, on a connection of its own, whether it answers and is ready: undefined if so, else what is wrong. */
  probe(timeoutMs: number): Promise<string | undefined>;
}

export interface NodeConnection {
  query(statement: string, values?: unknown): Promise<unknown>;
  release(): void;
}

/**
 * A statement whose reply has not come for this long gets its node probed (a connection of
 * its own, the readiness check) when there is another node to go to. Not sooner: a commit
 * waits while the cluster evicts a node that died (below), and that is no reason to move.
 */
export const STALL_MS = 3000;
/** A probe that gets no answer within this long means the node has stopped answering. */
export const PROBE_MS = 2000;
/**
 * Connecting to a node of a cluster gives up after this long (one server: 10 s, as before). A
 * frozen node's kernel still accepts the TCP connection, and only the server's greeting never
 * comes: this is how long a new run waits for it before it tries the next node. A live node
 * greets in milliseconds, even while its cluster is paused.
 */
export const NODE_CONNECT_TIMEOUT_MS = 4000;

/**
 * The one statement a new connection to a cluster's node costs: Galera's state, read from
 * the status variables (present on MariaDB builds with wsrep, absent on MySQL; a plain MariaDB
 * shows an empty provider name).
 */
export const WSREP_STATUS_SQL =
  "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_provider_name', 'wsrep_ready', 'wsrep_cluster_status', 'wsrep_local_state_comment')";

/**
 * On a Galera node, what `cancel`, `show --follow` and `add --wait` set on their sessions: reads
 * (1), and UPDATEs and DELETEs (2), first wait until this node has applied every transaction
 * the cluster committed before them, so that a job added or changed through another node a
 * moment ago is seen. Only on those sessions: a causal wait costs a round of the cluster.
 */
export const CAUSAL_WAIT_SQL = "SET SESSION wsrep_sync_wait = 3";

/** What WSREP_STATUS_SQL says: whether the server is a Galera node, and if it is, what keeps it from taking work. */
export function wsrepState(statusRows: unknown): { galera: boolean; problem?: string } {
  const status = new Map<string, string>();
  for (const row of Array.isArray(statusRows) ? (statusRows as Array<Record<string, unknown>>) : []) {
    status.set(String(row.Variable_name ?? "").toLowerCase(), String(row.Value ?? ""));
  }
  if (!status.get("wsrep_provider_name")) return { galera: false };
  const ready = status.get("wsrep_ready");
  const component = status.get("wsrep_cluster_status");
  const state = status.get("wsrep_local_state_comment");
  if (ready !== "ON") return { galera: true, problem: `wsrep_ready is ${ready || "unknown"}` };
  if (component !== "Primary") return { galera: true, problem: `it is in a ${component || "unknown"} component, not the Primary one` };
  if (state !== "Synced") return { galera: true, problem: `wsrep_local_state_comment is ${state || "unknown"}, not Synced` };
  return { galera: true };
}

/** The error a connection gets when its readiness check finds the node not ready: MariaDB's own errno for "WSREP not ready". */
export function notReadyError(where: string, problem: string): Error {
  return Object.assign(new Error(`database node ${where} is not ready: ${problem}`), { errno: WSREP_NOT_READY, code: "ER_UNKNOWN_COM_ERROR" });
}

/** "WSREP has not yet prepared node for application use": the node refused the statement without running it. */
export const WSREP_NOT_READY = 1047;
/**
 * "Got error … during COMMIT": on Galera, a node that has just left the Primary component (a
 * node frozen, then resumed) fails the commits it was holding so ("Error while appending
 * streaming replication fragment (provider status: Not connected to Primary Component)"): the
 * transaction did not commit anywhere.
 */
export const COMMIT_FAILED = 1180;
/** The server killed the connection (KILL, or shutting down). */
const CONNECTION_KILLED = 1927;

/** Errors after which the statement or transaction certainly took no effect: it may be sent again elsewhere. */
export function tookNoEffect(error: unknown): boolean {
  const errno = (error as { errno?: number } | null)?.errno;
  return errno === WSREP_NOT_READY || errno === COMMIT_FAILED;
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ER_SERVER_SHUTDOWN"]);

/** An error that is the node's fault, not the statement's: it is gone, unreachable, shutting down or not ready. */
export function isNodeError(error: unknown): boolean {
  const { code = "", errno, fatal } = (error ?? {}) as { code?: string; errno?: number; fatal?: boolean };
  return (
    CONNECTION_CODES.has(code) || code.startsWith("PROTOCOL_") || fatal === true || [WSREP_NOT_READY, COMMIT_FAILED, CONNECTION_KILLED].includes(errno ?? -1)
  );
}

/** Errors that failed with a node this process has since left for another: work that may start over can, on the next node. */
const lostWithNode = new WeakSet<object>();
/** Of those, the errors of a statement that withRetry may send again (not the claim's: see query()). */
const resendable = new WeakSet<object>();

export function leftItsNode(error: unknown): boolean {
  return typeof error === "object" && error !== null && lostWithNode.has(error);
}

export function mayResend(error: unknown): boolean {
  return typeof error === "object" && error !== null && resendable.has(error);
}

/** Statements that change nothing, which may be sent again whatever became of the first. */
const READ_ONLY = /^\s*(SELECT|SHOW|DO)\b/i;

/**
 * The nodes and which one is in use. query() and acquire() are what a Database's two pools
 * do: they take a connection from the current node, and when that node fails they move on.
 */
export class NodeFailover<C extends NodeConnection, N extends FailoverNode<C> = FailoverNode<C>> {
  private index = 0;
  private probing = false;

  constructor(
    readonly nodes: readonly N[],
    private readonly onChange: (line: string) => void = () => undefined,
  ) {}

  get current(): N {
    return this.nodes[this.index]!;
  }

  /**
   * `node` failed (`why`, e.g. "is unreachable (ECONNREFUSED)"). If it is still the one in use
   * and there is another, its connections are cut and the next node becomes the one in use,
   * with one log line. True when the caller may try again: on the node now in use.
   */
  leave(node: N, why: string): boolean {
    if (this.nodes.length < 2) return false;
    if (node !== this.current) return true; // another statement saw it first
    node.cut();
    this.index = (this.index + 1) % this.nodes.length;
    this.onChange(`database node ${node.where} ${why}; moving to ${this.current.where}`);
    return true;
  }

  /**
   * A statement has waited `ms` for the node in use (the heartbeat says so while a renewal is
   * out). Past STALL_MS, with another node to go to, the node is probed on a connection of its
   * own: one that does not answer within PROBE_MS, or is not ready, is left. One that answers
   * is kept: it is alive and its cluster is busy, e.g. evicting a dead node (about 6.5 s with
   * Galera's evs.suspect_timeout of 5 s, during which every commit on every node waits).
   */
  stalled(ms: number): void {
    if (this.nodes.length < 2 || this.probing || ms < STALL_MS) return;
    const node = this.current;
    this.probing = true;
    void node
      .probe(PROBE_MS)
      .then((problem) => {
        if (problem) this.leave(node, problem);
      })
      .finally(() => (this.probing = false));
  }

  /** A connection of the node in use, moving on (each node tried once) while nodes fail to give one. */
  async acquire(claim: boolean): Promise<{ connection: C; node: N }> {
    for (let tried = 1; ; tried++) {
      const node = this.current;
      try {
        return { connection: await node.acquire(claim), node };
      } catch (error) {
        if (!isNodeError(error) || tried >= this.nodes.length || !this.leave(node, describeNodeError(error))) throw error;
      }
    }
  }

  /**
   * One statement on the node in use. When its node fails, the process moves on, and the
   * statement is sent again on the next node if that is certainly safe: it took no effect (the
   * node was not ready, or failed its commit for want of a Primary component), or it only reads. Otherwise the error goes back marked
   * (leftItsNode), for the caller to judge: withRetry sends fenced writes again (mayResend),
   * but never a claim (`claim`: the claim's pool), whose reply is what says which rows it took:
   * the claim gives its token's rows back first, and the run claims anew (retryOnAnotherNode).
   */
  async query(statement: string, values: unknown, claim: boolean): Promise<unknown> {
    for (let tried = 1; ; tried++) {
      const { connection, node } = await this.acquire(claim);
      const watch = this.watch(node);
      try {
        return await connection.query(statement, values);
      } catch (error) {
        if (!this.failed(node, error, !claim)) throw error;
        if (!(tookNoEffect(error) || READ_ONLY.test(statement)) || tried >= this.nodes.length) throw error;
      } finally {
        clearInterval(watch);
        connection.release();
      }
    }
  }

  /**
   * Watches work under way on `node` (a statement, or a transaction: db.ts's withTransaction)
   * until the timer it returns is cleared: every STALL_MS that it is still out, the node is
   * probed, as a run's heartbeat does for its renewals. A command (`list`, `add`, `cancel`,
   * `add --wait`'s polling) has no heartbeat, and without this would wait on a frozen node
   * until TCP gave up (hours). A node left so has its connections cut, which fails the work at
   * once; a read, or a transaction that had not reached COMMIT, is then run again on the next
   * node. Slow work on a node that answers its probes costs a probe every STALL_MS, no more.
   */
  watch(node: N): NodeJS.Timeout | undefined {
    if (this.nodes.length < 2) return undefined;
    const timer = setInterval(() => {
      if (node === this.current) this.stalled(STALL_MS);
    }, STALL_MS);
    timer.unref();
    return timer;
  }

  /** `error` came from `node`: if it is the node's fault and the process moved on, the error is marked so. True when it moved on. */
  failed(node: N, error: unknown, resend: boolean): boolean {
    if (!isNodeError(error) || !this.leave(node, describeNodeError(error))) return false;
    if (typeof error === "object" && error !== null) {
      lostWithNode.add(error);
      if (resend) resendable.add(error);
    }
    return true;
  }
}

/** "is unreachable (ECONNREFUSED)", "is not ready (wsrep_ready is OFF)": what the log line says about a node. */
export function describeNodeError(error: unknown): string {
  const { code, errno, message } = (error ?? {}) as { code?: string; errno?: number; message?: string };
  if (errno === WSREP_NOT_READY || errno === COMMIT_FAILED) return `is not ready (${(message ?? "").replace(/^database node \S+ is not ready: /, "")})`;
  if (code === "ETIMEDOUT") return "did not answer in time (ETIMEDOUT)";
  if (code === "ECONNREFUSED" || code === "EHOSTUNREACH" || code === "ENOTFOUND") return `is unreachable (${code})`;
  return `lost the connection (${code || message || "unknown error"})`;
}

/**
 * Runs `work` again, on the node now in use, when it failed with its node and the process has
 * moved on (at most once per node). For work that is safe to start over: a claim (whose rows
 * went back to pending when its reply was lost: claim.ts), a run's first queries.
 */
export async function retryOnAnotherNode<T>(nodes: number, work: () => Promise<T>): Promise<T> {
  for (let tried = 1; ; tried++) {
    try {
      return await work();
    } catch (error) {
      if (!leftItsNode(error) || tried >= nodes) throw error;
    }
  }
}
