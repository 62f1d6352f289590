import type { ClaimCursor } from "./claim-cursor.js";
import {
  CLAIM_COLUMNS,
  MAX_ATTEMPTS_COUNT,
  newToken,
  REFUSAL_SQL,
  refusalErrorSql,
  refusalOf,
  toClaimedJob,
  type ClaimedJob,
  type ClaimRow,
} from "./claimed-job.js";
import { execute, rows, withRetry, withTransaction, type Database, type PoolConnection, type RowDataPacket, type Sql } from "./db.js";
import { UNCOUNT_START } from "./fenced-update.js";
import { lockLimitedTypes } from "./type-slots.js";

export interface ClaimOptions {
  /** Types this process has handlers for (after --type filtering). Others stay pending. */
  types: string[];
  /** Cross-host concurrency limits, type → at most this many running. */
  limits: Record<string, number>;
  /** At most this many jobs. */
  max: number;
  /** host:pid, recorded in locked_by. */
  workerId: string;
  leaseSeconds: number;
  /** Where this process's previous claim ended: the next starts there (see ClaimCursor). */
  cursor?: ClaimCursor;
  /**
   * The jobs are claimed ahead of the free slots: their attempts are not counted and their
   * started_at is cleared, each job's start is recorded when it starts (recordStarts). Without
   * it (a claim for free slots, whose jobs start at once) the claim counts the attempts and
   * sets started_at itself. src/runner/loop/start-marks.ts says why the two differ.
   */
  ahead?: boolean;
}

/**
 * Claims up to `max` due jobs: docs/architecture.md, "The claim protocol". Concurrent claimers skip each other's
 * rows (SKIP LOCKED) instead of queueing; the chosen rows are set running with a fresh token,
 * lease and (unless claimed `ahead`) attempt in the same transaction.
 *
 * Why batches: one claim of n jobs costs one commit (one fsync) instead of n, which is
 * most of bench/throughput's lead over the one-job-per-transaction pattern. Why not more
 * than a few times the free slots: claimed jobs are invisible to other hosts, and a crash
 * strands them until their lease expires.
 *
 * Two shapes, the same protocol:
 * - No type in the selection has a concurrency limit (the common case): claimBatch, one
 *   round trip of two statements. Measured by bench/throughput (10,000 no-op jobs, 2 cores):
 *   the four round trips of BEGIN, SELECT … FOR UPDATE SKIP LOCKED, UPDATE by ref, COMMIT
 *   gave about 3,300 jobs/s; this shape 6,300, with the server's CPU per job down from
 *   0.14 ms to 0.09 ms. (The cursor and two claims in flight took it to 9,000–10,000.)
 * - Some type is limited: claimInTransaction, the explicit transaction, because the running
 *   count of a limited type must be read under its _type_slots row lock before choosing rows.
 *   A server that refuses the one-statement shape gets this one too.
 *
 * The alternative of a token UPDATE without SKIP LOCKED (`UPDATE … WHERE status='pending'
 * ORDER BY … LIMIT n`) makes concurrent claimers wait on each other's row locks; it is only
 * worth having for servers without SKIP LOCKED, which init refuses instead.
 */
export interface Claim {
  jobs: ClaimedJob[];
  /** Limited types left out because another claimer held their slot row: worth asking again at once. */
  contended: string[];
  /** Limited types left out because they are at their limit: worth asking again when a job of theirs ends. */
  full: string[];
}

/*
 * On a Galera cluster (docs/operations.md, "Running on a cluster"). Every node takes writes, but
 * a row lock, SKIP LOCKED's included, holds only on the node that took it: locks are never
 * replicated, only the rows a transaction wrote, when it commits. Claims on two nodes at the
 * same moment both see the same head of the pending rows (ORDER BY priority, ref), both lock
 * and update those rows on their own node, and both commit. The cluster puts their write sets
 * in one order; the later one fails certification (it changed rows that an earlier transaction
 * it had not seen changed too) and is rolled back whole, as error 1213, a deadlock's errno; or
 * the earlier one, applied on the later one's node while that still runs, aborts it there (a
 * brute-force abort, the same error). Either way nothing of the losing claim happened, and the
 * rows of a claim are read back only after its UPDATE's commit succeeded (the statement's reply
 * is the commit's), so no job starts on a claim that did not commit: the claim is tried again
 * as after a deadlock, by withRetry (6 tries, 10–160 ms apart, ±50 % jitter) and then by
 * claimWithRetries (claim-retry.ts: 4 rounds). For the one-statement claim the server first
 * retries once by itself (wsrep_retry_autocommit, 1 by default), by which time the winner's rows
 * are applied there and no longer pending, so most conflicts never reach the runner.
 *
 * Measured by bench:scale --cluster (the loopback cluster of scripts/galera.sh on 2 cores;
 * 5,000 no-op jobs, three runs of 4 slots, median of 5): with the three runs on one node there
 * is no conflict at all (SKIP LOCKED works there as on one server); with one run on each node,
 * the nodes counted 835 certification failures and brute-force aborts per 1,000 claims, of
 * which the runs saw 175 (the server's own retry settled the rest), and the rate fell by 12 %
 * (1,872 jobs/s against 2,118; one server without a cluster: 3,234). Every commit's round of
 * the cluster and three servers applying every write on two cores bound it, more than the
 * conflicts. Longer jobs mean fewer claims at once: `command` jobs, 125 conflicts in the cluster
 * and 12 seen per 1,000 claims, at the same rate on one node or three. Spreading claims over
 * the pending rows (a random start) would trade these cheap retries for claims out of priority
 * order; listing the same node first in every host's database.urls avoids them altogether, the
 * other nodes standing by.
 *
 * A limited type's claim (claimInTransaction) meets the same locality in its _type_slots row:
 * lockLimitedTypes writes the row, so that two nodes' claims of that type conflict too
 * (type-slots.ts).
 */

/** Servers that refused the one-statement claim (see claimOnce): they get the transaction. */
const refusedBatchClaims = new WeakSet<Database>();
/** Parse error, "not supported yet", "can't specify target table for update": the server's syntax, not ours to retry. */
const UNSUPPORTED_ERRNOS = new Set([1064, 1235, 1093]);

export async function claimJobs(db: Database, options: ClaimOptions): Promise<Claim> {
  if (options.max <= 0 || options.types.length === 0) return { jobs: [], contended: [], full: [] };
  const jobs: ClaimedJob[] = [];
  for (let round = 0; ; round++) {
    const claim = await claimRound(db, { ...options, max: options.max - jobs.length });
    jobs.push(...claim.jobs);
    // Rows the round failed instead of taking (see refusalOf) filled places of its LIMIT: ask
    // again for those places, so that a short claim still means "nothing more is due" to the
    // run. Each such round fails at least one row for good, so this ends.
    if (claim.refused === 0 || jobs.length >= options.max) {
      if (round > 0) jobs.sort((a, b) => a.priority - b.priority || a.ref - b.ref);
      return { jobs, contended: claim.contended, full: claim.full };
    }
  }
}

/** One claim; `refused`: rows it failed instead of taking, because the runner cannot carry them. */
async function claimRound(db: Database, options: ClaimOptions): Promise<Claim & { refused: number }> {
  if (options.types.some((t) => t in options.limits) || refusedBatchClaims.has(db)) return claimInTransaction(db, options);
  try {
    return { ...(await claimBatch(db, options)), contended: [], full: [] };
  } catch (error) {
    if (!UNSUPPORTED_ERRNOS.has((error as { errno?: number }).errno ?? -1)) throw error;
    // Written for MariaDB ≥ 10.6 and MySQL ≥ 8.0.1; should a server still refuse the shape,
    // the explicit transaction does the same claim in four round trips instead of one.
    refusedBatchClaims.add(db);
    return claimInTransaction(db, options);
  }
}

/**
 * One statement claims: a multi-table UPDATE joined to a derived table that picks the due rows
 * with FOR UPDATE SKIP LOCKED (autocommit: the rows are locked, updated and committed
 * together). The join matters: `WHERE ref IN (SELECT … FROM (…))` made MariaDB scan the whole
 * table per claim. The second statement reads back what the token claimed, through the claim
 * index's running rows (FORCE INDEX: right after a bulk insert the optimizer's statistics
 * say "running" is most of the table, and it chose a full scan and filesort, which was half
 * of the server's time). Both start at the cursor when there is one, for the same reason
 * (the delete-marked entries of rows that left 'pending', or 'running', lie before it).
 *
 * `WHERE job.status = 'pending'` on the UPDATE itself is the guard that does not depend on
 * how a server treats a locking read inside a derived table: the UPDATE locks each row it
 * changes and checks the condition again on the row as it is then, so a row another claim
 * took meanwhile is left alone, and the read-back by token returns only what this one took.
 *
 * The join order is forced (the derived table first, STRAIGHT_JOIN, then the job rows by
 * primary key): on a table of a few rows MariaDB otherwise read the job table first, in a full
 * scan that locks as it reads, and so waited behind any row another transaction held (an
 * application updating it, an open session), SKIP LOCKED or not. With the order forced, the
 * only rows the UPDATE touches are those the SKIP LOCKED read chose.
 *
 * Types compare byte for byte (CAST … AS BINARY): through the column's collation `NOOP`,
 * `noop ` and a full-width `ｎｏｏｐ` were all "noop". The claim index still drives the read
 * (the type was never part of it).
 *
 * A row the runner cannot carry (refusalOf: a ref beyond 2^53 − 1, or attempts at the
 * column's maximum) is not run on a rounded ref, nor does it overflow `attempts + 1` (which
 * failed the whole statement, and so every claim, for as long as the row was there): the
 * UPDATE keeps attempts at its maximum and marks the row with its refusal in `progress`, and
 * failRefused fails it with its reason, in a second round trip that only such rows cost.
 * (Setting `error` in the UPDATE itself made every claim 15–20 % slower: it is a TEXT column.)
 */
async function claimBatch(db: Database, options: ClaimOptions): Promise<{ jobs: ClaimedJob[]; refused: number }> {
  const { cursor } = options;
  const from = cursor?.condition();
  const first = await claimOnce(db, options, options.max, from);
  cursor?.moved(first.jobs.at(-1), from === undefined);
  if (!from || first.jobs.length + first.refused >= options.max) return first;
  // Short from the cursor: rows behind it may be due (see ClaimCursor). Look from the head.
  const more = await claimOnce(db, options, options.max - first.jobs.length - first.refused, undefined);
  cursor?.moved(more.jobs.at(-1), true);
  const jobs = [...first.jobs, ...more.jobs].sort((a, b) => a.priority - b.priority || a.ref - b.ref);
  return { jobs, refused: first.refused + more.refused };
}

async function claimOnce(
  db: Database,
  options: ClaimOptions,
  max: number,
  from: [string, unknown[]] | undefined,
): Promise<{ jobs: ClaimedJob[]; refused: number }> {
  const token = newToken();
  const [after, afterParams] = from ?? ["", []];
  const claimIndex = db.quoted("_claim");
  const claimed = await withRetry(async () => {
    const [results] = await db.claimPool.query<RowDataPacket[][]>(
      `UPDATE (SELECT ref, ${REFUSAL_SQL} AS refusal FROM ${db.quoted()} FORCE INDEX (${claimIndex})
                WHERE status = 'pending' ${after} AND run_after <= NOW(3) AND CAST(type AS BINARY) IN (?)
                ORDER BY priority, ref LIMIT ? FOR UPDATE SKIP LOCKED) AS chosen
         STRAIGHT_JOIN ${db.quoted()} AS job FORCE INDEX (PRIMARY) ON job.ref = chosen.ref
          SET job.status = 'running', ${startSql(options.ahead, "job.", "chosen.refusal")}, job.locked_by = ?, job.lock_token = ?,
              job.lease_until = NOW(3) + INTERVAL ? SECOND, job.progress = NULLIF(chosen.refusal, 0)
        WHERE job.status = 'pending';
       SELECT ${CLAIM_COLUMNS}, progress AS refusal FROM ${db.quoted()} FORCE INDEX (${claimIndex})
        WHERE status = 'running' ${after} AND lock_token = ? ORDER BY priority, ref`,
      [...afterParams, options.types, max, options.workerId, token, options.leaseSeconds, ...afterParams, token],
    );
    return results[1] as unknown as Array<ClaimRow & { refusal: number | null }>;
  }).catch(async (error) => {
    // The UPDATE may have committed before the SELECT failed: give back what the token took.
    // Not to a database the run gave up on (it would wait out a connect timeout): there the
    // lease expires and recovery gives them back.
    if (!db.abandoned) await releaseToken(db, token).catch(() => undefined);
    throw error;
  });
  const refused = claimed.filter((row) => row.refusal !== null);
  if (refused.length) {
    await failRefused(db, db.pool, refused, token).catch(async (error) => {
      if (!db.abandoned) await releaseToken(db, token).catch(() => undefined);
      throw error;
    });
  }
  // attempts was read after the claim: with the claim's increment it is this attempt's number.
  const jobs = claimed.filter((row) => row.refusal === null).map((row) => claimedJob(row, token, options.ahead));
  return { jobs, refused: refused.length };
}

/**
 * The claim when some selected type has a concurrency limit (or the server refused the
 * one-statement claim), in one short transaction:
 *
 * 1. Lock the limited types' _type_slots rows FOR UPDATE SKIP LOCKED. A type whose row
 *    another claimer holds is left out of this round (no waiting), and for the rows we hold,
 *    the running count we read cannot change under us, because every claim of that type
 *    anywhere takes the same row first. That is how `concurrency: 1` holds across hosts
 *    without a home-made protocol.
 * 2. SELECT the due pending rows of the remaining types, ORDER BY priority, ref, LIMIT max,
 *    FOR UPDATE SKIP LOCKED.
 * 3. UPDATE those rows by primary key to running, with a fresh token, lease and attempt.
 */
export async function claimInTransaction(db: Database, options: ClaimOptions): Promise<Claim & { refused: number }> {
  return withTransaction(db, async (sql) => {
    const room = await lockLimitedTypes(db, sql, options.types, options.limits, "SKIP LOCKED");
    const limited = options.types.filter((t) => t in options.limits);
    const contended = limited.filter((t) => !room.has(t));
    const full = limited.filter((t) => room.get(t) === 0);
    const types = options.types.filter((t) => !(t in options.limits) || (room.get(t) ?? 0) > 0);
    if (types.length === 0) return { jobs: [], contended, full, refused: 0 };
    const candidates = await rows<ClaimRow>(
      sql,
      `SELECT ${CLAIM_COLUMNS} FROM ${db.quoted()}
        WHERE status = 'pending' AND run_after <= NOW(3) AND CAST(type AS BINARY) IN (?)
        ORDER BY priority, ref LIMIT ? FOR UPDATE SKIP LOCKED`,
      [types, options.max],
    );
    const refused = candidates.filter((row) => refusalOf(row) !== undefined);
    if (refused.length) await failRefused(db, sql, refused);
    // Rows of a limited type beyond its room stay pending (their row locks end at commit).
    const chosen = candidates.filter((row) => {
      if (refusalOf(row) !== undefined) return false;
      if (!room.has(row.type)) return true;
      const left = room.get(row.type)!;
      room.set(row.type, left - 1);
      return left > 0;
    });
    if (chosen.length === 0) return { jobs: [], contended, full, refused: refused.length };
    const token = await setRunning(
      db,
      sql,
      chosen.map((row) => Number(row.ref)),
      options,
    );
    const fullNow = limited.filter((t) => room.has(t) && room.get(t)! <= 0);
    // Read before the UPDATE: this attempt's number is one more, counted or not.
    const jobs = chosen.map((row) => toClaimedJob(row, token, row.attempts + 1, !options.ahead));
    return { jobs, contended, full: fullNow, refused: refused.length };
  });
}

/**
 * Fails rows the runner cannot carry (refusalOf), each with its reason: pending rows the
 * caller's transaction holds locked, or (with `token`) rows the one-statement claim just set
 * running under that token, marked by its refusal in `progress`. Refs go back to the server as
 * it sent them (a string beyond 2^53). Should this fail, those rows' leases expire, and
 * recovery fails them (attempts used up, or a ref it cannot carry).
 */
export async function failRefused(db: Database, sql: Sql, refused: Array<Pick<ClaimRow, "ref">>, token?: string): Promise<void> {
  await execute(
    sql,
    `UPDATE ${db.quoted()}
        SET status = 'failed', error = ${refusalErrorSql(REFUSAL_SQL, db.quoted(), "error")}, finished_at = NOW(3),
            lease_until = NULL, progress = NULL
      WHERE ref IN (?) AND ${token === undefined ? "status = 'pending'" : "status = 'running' AND lock_token = ?"}`,
    [refused.map((row) => row.ref), ...(token === undefined ? [] : [token])],
  );
}

/**
 * The claim's SET of `attempts` and `started_at`: counted and started now, or (`ahead`) left
 * uncounted, with started_at NULL to say so until the job starts (COUNT_START). LEAST: a row
 * at the column's maximum is refused by the claim (refusalOf), and must not overflow it first.
 * `refused`: the SQL of the one-statement claim's refusal; a refused row counts its attempt
 * either way, as the claim that fails it is that attempt.
 */
function startSql(ahead: boolean | undefined, alias = "", refused?: string): string {
  const counted = `LEAST(${alias}attempts, ${MAX_ATTEMPTS_COUNT - 1}) + 1`;
  if (!ahead) return `${alias}attempts = ${counted}, ${alias}started_at = NOW(3)`;
  if (!refused) return `${alias}started_at = NULL`;
  return `${alias}attempts = IF(${refused} = 0, ${alias}attempts, ${counted}), ${alias}started_at = IF(${refused} = 0, NULL, NOW(3))`;
}

/** A claimed row as the runner gets it; `attempts` was read after the claim's UPDATE. */
function claimedJob(row: ClaimRow, token: string, ahead: boolean | undefined): ClaimedJob {
  return toClaimedJob(row, token, ahead ? row.attempts + 1 : row.attempts, !ahead);
}

/**
 * Sets rows that the caller's transaction holds locked running, under a fresh token, lease and
 * (unless `ahead`) attempt (claimInTransaction and claimJobByRef). Returns the token.
 */
export async function setRunning(
  db: Database,
  sql: PoolConnection,
  refs: number[],
  options: Pick<ClaimOptions, "workerId" | "leaseSeconds" | "ahead">,
): Promise<string> {
  const token = newToken();
  await execute(
    sql,
    `UPDATE ${db.quoted()}
        SET status = 'running', ${startSql(options.ahead)}, locked_by = ?, lock_token = ?,
            lease_until = NOW(3) + INTERVAL ? SECOND, progress = NULL
      WHERE ref IN (?)`,
    [options.workerId, token, options.leaseSeconds, refs],
  );
  return token;
}

/** Claimed rows nobody will run (their claim's reply was lost): back to pending, the attempt not counted. */
async function releaseToken(db: Database, token: string): Promise<void> {
  await execute(
    db.pool,
    `UPDATE ${db.quoted()} SET status = 'pending', ${UNCOUNT_START}, lease_until = NULL
      WHERE status = 'running' AND lock_token = ?`,
    [token],
  );
}
