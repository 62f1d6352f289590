/*
 * Cross-host concurrency limits (docs/architecture.md, "The claim protocol"): one row per limited type in _type_slots. A claim
 * of such a type locks its row while it counts the type's running jobs, which serialises the
 * type's claims across hosts.
 */
import { execute, rows, type Database, type PoolConnection } from "./db.js";

/** Creates the lock rows for types with a concurrency limit (idempotent, outside any claim). */
export async function ensureTypeSlots(db: Database, types: string[]): Promise<void> {
  if (types.length === 0) return;
  await execute(db.pool, `INSERT IGNORE INTO ${db.quoted("_type_slots")} (type) VALUES ?`, [types.map((t) => [t])]);
}

/** Locks the slot rows of the limited types among `types` and returns each one's room left. */
export async function lockLimitedTypes(
  db: Database,
  sql: PoolConnection,
  types: string[],
  limits: Record<string, number>,
  mode: "SKIP LOCKED" | "WAIT",
): Promise<Map<string, number>> {
  const limited = types.filter((t) => t in limits);
  const room = new Map<string, number>();
  if (limited.length === 0) return room;
  const held = await rows<{ type: string }>(
    sql,
    `SELECT type FROM ${db.quoted("_type_slots")} WHERE type IN (?) FOR UPDATE${mode === "SKIP LOCKED" ? " SKIP LOCKED" : ""}`,
    [limited],
  );
  for (const { type } of held) room.set(type, limits[type]!);
  if (held.length === 0) return room;
  const running = await rows<{ type: string; n: number }>(
    sql,
    `SELECT type, COUNT(*) AS n FROM ${db.quoted()} WHERE status = 'running' AND CAST(type AS BINARY) IN (?) GROUP BY type`,
    [[...room.keys()]],
  );
  for (const { type, n } of running) room.set(type, Math.max(0, room.get(type)! - Number(n)));
  await certifySlots(
    db,
    sql,
    [...room].filter(([, left]) => left > 0).map(([type]) => type),
  );
  return room;
}

/**
 * Writes the slot rows of the types this claim may take, deleting and inserting each again.
 * On one server the FOR UPDATE lock above already serialises the type's claims. On Galera it
 * does not: a lock holds on its own node only and is never replicated, and only written rows
 * take part in certification. Two nodes could each lock the row, count the same running jobs,
 * claim a different job each and both commit: two jobs of a `concurrency: 1` type at once
 * (seen on the loopback cluster, two sessions on two nodes). With the row written, the second
 * commit fails certification (1213) and its claim is retried, counting again. An UPDATE that
 * changes nothing (`SET type = type`, or REPLACE with the same row) writes no row event, and
 * so did not conflict. Two statements more per claim of a limited type, which claims one at a time anyway.
 */
async function certifySlots(db: Database, sql: PoolConnection, types: string[]): Promise<void> {
  if (types.length === 0) return;
  await execute(sql, `DELETE FROM ${db.quoted("_type_slots")} WHERE type IN (?)`, [types]);
  await execute(sql, `INSERT INTO ${db.quoted("_type_slots")} (type) VALUES ?`, [types.map((t) => [t])]);
}
