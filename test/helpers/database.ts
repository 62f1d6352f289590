import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { after, before, beforeEach } from "node:test";
import { openDatabase, type Database } from "../../src/queue/db.js";
import { applyMigrations } from "../../src/queue/migrations.js";

/** The server the tests use; a database of its own is created per test file. */
export const SERVER_URL = process.env.OFFLINE_JOBS_TEST_SERVER_URL ?? "mysql://root@127.0.0.1:3306";

export interface TestDatabase {
  name: string;
  /** mysql://…/name, for configs and child processes. */
  url: string;
  /** An open Database on it (job table `job_queue`, migrated unless asked not to). */
  db: Database;
  /** Runs SQL on it (with ? parameters) and returns the rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** INSERTs a job as an application would (job_data as JSON, plus any other columns) and returns its ref. */
  insertJob(type: string, data: unknown, columns?: Record<string, unknown>): Promise<number>;
  drop(): Promise<void>;
}

/** Creates a database with a random name, so test files can run in parallel, and drops it afterwards. */
export async function createTestDatabase(options: { migrate?: boolean; table?: string } = {}): Promise<TestDatabase> {
  const name = `oj_test_${randomBytes(5).toString("hex")}`;
  const admin = await mysql.createConnection(SERVER_URL);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await admin.end();
  const url = `${SERVER_URL.replace(/\/$/, "")}/${name}`;
  const db = openDatabase(url, options.table ?? "job_queue", 8);
  if (options.migrate !== false) await applyMigrations(db);
  return {
    name,
    url,
    db,
    async query<T>(sql: string, params: unknown[] = []) {
      const [rows] = await db.pool.query(sql, params);
      return rows as T[];
    },
    async insertJob(type: string, data: unknown, columns: Record<string, unknown> = {}) {
      const [header] = await db.pool.query("INSERT INTO job_queue SET ?", [{ ...columns, type, job_data: JSON.stringify(data) }]);
      return Number((header as { insertId: number }).insertId);
    },
    async drop() {
      await db.close().catch(() => undefined);
      const connection = await mysql.createConnection(SERVER_URL);
      await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await connection.end();
    },
  };
}

/**
 * The database of one test file: made before its tests, dropped after them, and with
 * `emptyBeforeEach` its job table emptied before each test.
 */
export function useTestDatabase(options: { emptyBeforeEach?: boolean } = {}): TestDatabase {
  let database: TestDatabase | undefined;
  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => {
    await database?.drop();
  });
  if (options.emptyBeforeEach) {
    beforeEach(async () => {
      await current().query("DELETE FROM job_queue");
    });
  }
  const current = (): TestDatabase => {
    if (!database) throw new Error("the test database is made in before(): use it inside a test");
    return database;
  };
  return {
    get name() {
      return current().name;
    },
    get url() {
      return current().url;
    },
    get db() {
      return current().db;
    },
    query: <T>(sql: string, params?: unknown[]) => current().query<T>(sql, params),
    insertJob: (type, data, columns) => current().insertJob(type, data, columns),
    drop: () => current().drop(),
  };
}
