import { rows, type Database } from "./db.js";

/**
 * The highest ref in the job table, as the server writes it (a string: refs may pass 2^53).
 * One step down the primary key's index, whatever the table's size: the idle worker's way to
 * notice a new INSERT (docs/architecture.md, "The life of a job").
 */
export async function newestRef(db: Database): Promise<string | null> {
  const [row] = await rows<{ ref: string | null }>(db.pool, `SELECT CAST(MAX(ref) AS CHAR) AS ref FROM ${db.quoted()}`);
  return row?.ref ?? null;
}
