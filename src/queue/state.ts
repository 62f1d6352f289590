import { execute, rows, type Database } from "./db.js";

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
  await execute(
    db.pool,
    `INSERT INTO ${db.quoted("_state")} (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)`,
    [name, value],
  );
}
