import { FatalError } from "../errors.js";
import { execute, rows, type Database, type PoolConnection } from "./db.js";

/**
 * Numbered, append-only migrations. Never edit one that has shipped: add the next number.
 * `offline-jobs init` applies what is missing; every other command calls checkSchema() and
 * refuses to touch a table that is behind.
 *
 * Choices in the job table, and why:
 * - job_data is LONGTEXT, not JSON: MySQL's JSON type would reject a malformed row at INSERT,
 *   inside the application's request. We take any text and fail the job with a clear message
 *   when it is claimed, which is where the handler's schema is applied too.
 * - active_code is a stored generated column: job_code while the job is pending or running,
 *   NULL otherwise. Its UNIQUE index makes "at most one active job per code" atomic, whoever
 *   inserts, with no read-then-insert race (NULLs do not collide in a UNIQUE index).
 * - (status, priority, ref) serves the claim's ORDER BY straight from the index, and also
 *   finds the running rows for lease recovery and per-type counts (the running set is
 *   small: hosts × slots × prefetch). No index contains lease_until or progress, so a
 *   heartbeat rewrites no index entry; a status change rewrites the claim's and, since
 *   version 2, the jobs page's two (see there).
 * - max_attempts NULL means "the type's default", so a bare INSERT follows the config.
 */
interface Migration {
  version: number;
  name: string;
  statements: (db: Database) => string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "job table",
    statements: (db) => [
      `CREATE TABLE IF NOT EXISTS ${db.quoted()} (
        ref BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        type VARCHAR(64) NOT NULL,
        job_data LONGTEXT NULL,
        job_code VARCHAR(191) NULL,
        user VARCHAR(191) NULL,
        priority SMALLINT NOT NULL DEFAULT 2,
        status ENUM('pending','running','complete','failed','cancelled') NOT NULL DEFAULT 'pending',
        run_after DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        attempts SMALLINT UNSIGNED NOT NULL DEFAULT 0,
        max_attempts SMALLINT UNSIGNED NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        started_at DATETIME(3) NULL,
        finished_at DATETIME(3) NULL,
        locked_by VARCHAR(191) NULL,
        lock_token CHAR(32) NULL,
        lease_until DATETIME(3) NULL,
        progress TINYINT UNSIGNED NULL,
        success_text TEXT NULL,
        failure_text TEXT NULL,
        result LONGTEXT NULL,
        error TEXT NULL,
        log MEDIUMTEXT NULL,
        active_code VARCHAR(191) AS (IF(status IN ('pending','running'), job_code, NULL)) STORED,
        UNIQUE KEY ${"`"}${db.table}_active_code${"`"} (active_code),
        KEY ${"`"}${db.table}_claim${"`"} (status, priority, ref),
        KEY ${"`"}${db.table}_user${"`"} (user)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
      // One row per type with a concurrency limit: a claim locks it (SKIP LOCKED) while it
      // counts that type's running jobs, which serialises claims of the type across hosts.
      `CREATE TABLE IF NOT EXISTS ${db.quoted("_type_slots")} (
        type VARCHAR(64) NOT NULL PRIMARY KEY
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
      // Named values shared by every host (e.g. the restart stamp of `offline-jobs restart`).
      `CREATE TABLE IF NOT EXISTS ${db.quoted("_state")} (
        name VARCHAR(64) NOT NULL PRIMARY KEY,
        value VARCHAR(255) NULL,
        updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
    ],
  },
  /*
   * The jobs page (`offline-jobs web`) reads a table of a million rows and more in a few
   * milliseconds a statement (bench/web.ts), and every one of these indexes is what some
   * statement of src/queue/job-page.ts, job-matches.ts, overview.ts or change-stamp.ts seeks
   * or walks instead of scanning the table:
   *
   * - (status, type, finished_at, started_at): the overview's (status, type) pairs by a loose index scan
   *   (one dive per pair), each pair's count capped at N as a range of at most N + 1 entries,
   *   the 24-hour chart as 48 range counts (an hour × complete or failed, one short range
   *   per type), each type's newest finished jobs for its p50/p95 (started_at makes that
   *   read the index alone: it changes only with status, so it costs no extra write); and a
   *   tab with a type filter. Without it the overview took 20 s at 1,000,000 rows.
   * - (user, status, type, finished_at, started_at) replaces (user): the same for one user's scope (a
   *   user without view_all), whose rows may be most of the table ("cli:deploy", or an
   *   application that writes one user). Every query that used (user) finds it as the prefix.
   * - (created_at): the list sorted by created (the page's default) and the date filters, by
   *   keyset. Without it the first page sorted the whole table (0.6 s, 2.7 s for the
   *   Complete tab). It never changes after the INSERT, so it costs the runner nothing.
   * - (user, created_at): the same sort within one user's scope. Walking (created_at) and
   *   skipping other users' rows reads 50 index entries per row shown for a user with 2 % of
   *   the jobs, and all of them for one whose newest jobs are old. No status in it either.
   * - (priority), which InnoDB extends with ref: the list sorted by priority over every status
   *   (0.8 s without), and (user, priority) the same within a scope (0.8 s without, for a
   *   user none of whose jobs has the highest priority: the walk down (priority) passed every
   *   job of it). Only a boost changes them. With (created_at) and the primary key, each
   *   sort has an index over the whole table, which a job_data filter's windows walk.
   *
   * What they cost: a status change (claim, finish, retry) now rewrites three secondary index
   * entries instead of one, since status is in the first two keys as it is in the claim's,
   * and an INSERT writes eight secondary entries instead of three. Measured 2026-12-03 on a
   * 2-core machine under other load (docs/benchmarks.md, "The jobs page"): `npm run bench`
   * twice each side, 1,760 and 2,566 jobs/s before, 4,160 and 3,138 after, within its noise;
   * the server's CPU per job 0.077–0.089 ms before, 0.092–0.100 ms after (about +15 %). The
   * writes alone (bench:web, the two schemas side by side): claims and finishes of 64 rows at
   * 0.71–0.90 of version 1's rate, 64-row INSERTs at 0.66–0.90. A run spends most of a job
   * elsewhere, so it loses far less than the writes alone.
   *
   * Left out: (status, created_at), since the tabs walk (created_at) backwards and stop
   * after a page (without it the Failed and Cancelled tabs' first pages took 17–23 ms at
   * 1,000,000 rows, 3 % and 2 % of them), and it would be a third index rewritten by every
   * status change; any index on locked_by (the host filter reads the other filters' range).
   *
   * MySQL has no ADD KEY IF NOT EXISTS nor DROP KEY IF EXISTS: each ALTER applies all or
   * nothing, and applyMigrations takes "duplicate key name" from the first and "can't drop"
   * from the second as done by an init that died before recording the version.
   */
  {
    version: 2,
    name: "jobs page indexes",
    statements: (db) => [
      `ALTER TABLE ${db.quoted()}
        ADD KEY ${"`"}${db.table}_status_type${"`"} (status, type, finished_at, started_at),
        ADD KEY ${"`"}${db.table}_user_status${"`"} (user, status, type, finished_at, started_at),
        ADD KEY ${"`"}${db.table}_created${"`"} (created_at),
        ADD KEY ${"`"}${db.table}_priority${"`"} (priority),
        ADD KEY ${"`"}${db.table}_user_created${"`"} (user, created_at),
        ADD KEY ${"`"}${db.table}_user_priority${"`"} (user, priority)`,
      `ALTER TABLE ${db.quoted()} DROP KEY ${"`"}${db.table}_user${"`"}`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

const MIN_MYSQL = [8, 0, 1];
const MIN_MARIADB = [10, 6, 0];

/** Refuses servers without SKIP LOCKED; returns a readable name of the server. */
export function checkServerVersion(versionString: string): string {
  const isMaria = /mariadb/i.test(versionString);
  const numbers = (versionString.match(/^(\d+)\.(\d+)\.(\d+)/) ?? []).slice(1).map(Number);
  const name = `${isMaria ? "MariaDB" : "MySQL"} ${numbers.join(".") || versionString}`;
  const minimum = isMaria ? MIN_MARIADB : MIN_MYSQL;
  for (let i = 0; i < 3; i++) {
    const have = numbers[i] ?? 0;
    const need = minimum[i]!;
    if (have > need) break;
    if (have < need) {
      throw new FatalError(`${name} is too old: offline-jobs needs ${isMaria ? "MariaDB 10.6" : "MySQL 8.0.1"} or later for SELECT … FOR UPDATE SKIP LOCKED`);
    }
  }
  return name;
}

/** Applies missing migrations under a named lock so that two `init`s cannot interleave. */
/**
 * A read-only server is a replica (asynchronous replication, or a node set aside): a job table
 * made there would be lost or would split from the primary's, and root passes read_only
 * silently. init refuses it, saying where to point instead.
 */
async function refuseReadOnlyServer(connection: PoolConnection): Promise<void> {
  const [flags] = await rows<{ readOnly: number | string; innodbReadOnly: number | string }>(
    connection,
    "SELECT @@global.read_only AS readOnly, @@innodb_read_only AS innodbReadOnly",
  );
  if (Number(flags?.readOnly) === 1 || Number(flags?.innodbReadOnly) === 1) {
    throw new FatalError(
      "the database server is read-only (read_only is on: a replica?); point database.url at the primary, or at a proxy that sends writes there (MaxScale, ProxySQL)",
    );
  }
}

export async function applyMigrations(db: Database): Promise<{ server: string; from: number; to: number }> {
  const connection = await db.pool.getConnection();
  const lockName = `offline-jobs:migrate:${db.table}`;
  try {
    const [row] = await rows<{ version: string }>(connection, "SELECT VERSION() AS version");
    const server = checkServerVersion(row?.version ?? "");
    await refuseReadOnlyServer(connection);
    await rows(connection, "SELECT GET_LOCK(?, 60)", [lockName]);
    await execute(
      connection,
      `CREATE TABLE IF NOT EXISTS ${db.quoted("_migrations")} (
        version INT NOT NULL PRIMARY KEY,
        name VARCHAR(191) NOT NULL,
        applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
      ) ENGINE=InnoDB`,
    );
    const from = await currentVersion(connection, db);
    for (const migration of MIGRATIONS) {
      if (migration.version <= from) continue;
      // DDL commits implicitly in MySQL, so each statement is written to be re-runnable
      // (IF NOT EXISTS) in case a previous init died half-way.
      for (const statement of migration.statements(db)) {
        try {
          await execute(connection, statement);
        } catch (error) {
          // An ALTER applies all or nothing: "duplicate key name" (adding) or "can't drop"
          // (dropping) means a previous init applied it and died before recording the version.
          const errno = (error as { errno?: number }).errno;
          if (errno !== 1061 && errno !== 1091) throw error;
        }
      }
      await execute(connection, `INSERT INTO ${db.quoted("_migrations")} (version, name) VALUES (?, ?)`, [migration.version, migration.name]);
    }
    return { server, from, to: SCHEMA_VERSION };
  } finally {
    await rows(connection, "SELECT RELEASE_LOCK(?)", [lockName]).catch(() => undefined);
    connection.release();
  }
}

async function currentVersion(sql: Parameters<typeof rows>[0], db: Database): Promise<number> {
  const [row] = await rows<{ v: number | null }>(sql, `SELECT MAX(version) AS v FROM ${db.quoted("_migrations")}`);
  return Number(row?.v ?? 0);
}

/** Every command but init calls this first: one round trip that proves the server is reachable and the table current. */
export async function checkSchema(db: Database): Promise<void> {
  let version = 0;
  try {
    version = await currentVersion(db.pool, db);
  } catch (error) {
    if ((error as { errno?: number }).errno !== 1146 /* no such table */) throw error;
  }
  if (version < SCHEMA_VERSION) {
    throw new FatalError(`the job table ${db.table} is at schema version ${version}, this offline-jobs needs ${SCHEMA_VERSION}: run offline-jobs init`);
  }
  if (version > SCHEMA_VERSION) {
    throw new FatalError(
      `the job table ${db.table} is at schema version ${version}, newer than this offline-jobs knows (${SCHEMA_VERSION}): upgrade offline-jobs`,
    );
  }
}
