import { execute, rows, withRetry, type Database } from "./db.js";

/**
 * Named values every host shares, in the `<table>_state` table. The restart stamp is one:
 * `offline-jobs restart` writes it, and every worker that started before it exits cleanly.
 */
export const RESTART_STAMP = "restart";

export async function readState(db: Database, name: string): Promise<string | null> {
  const [row] = await rows<{ value: string | null }>(db.pool, `SELECT value FROM ${db.quoted("_state")} WHERE name = ?`, [name]);
  return row?.value ?? null;
}

export async function writeState(db: Database, name: string, value: string): Promise<void> {
  await execute(db.pool, `INSERT INTO ${db.quoted("_state")} (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)`, [name, value]);
}

/**
 * One host at a time, at most once per `everySeconds` across all hosts: true when the caller
 * may do the named chore now. The time is the database's, kept in the shared _state table.
 */
export async function takeHousekeepingTurn(db: Database, chore: string, everySeconds: number): Promise<boolean> {
  await execute(db.pool, `INSERT IGNORE INTO ${db.quoted("_state")} (name, value) VALUES (?, '0')`, [chore]);
  const header = await withRetry(() =>
    execute(
      db.pool,
      `UPDATE ${db.quoted("_state")} SET value = UNIX_TIMESTAMP(NOW(3))
        WHERE name = ? AND (value IS NULL OR CAST(value AS DECIMAL(20, 3)) <= UNIX_TIMESTAMP(NOW(3)) - ?)`,
      [chore, everySeconds],
    ),
  );
  return header.affectedRows === 1;
}
