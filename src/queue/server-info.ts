import { rows, type Database } from "./db.js";

/** The server's version string (e.g. "10.11.6-MariaDB-0+deb12u1"): the first statement of `doctor`, proving the server answers. */
export async function serverVersion(db: Database): Promise<string> {
  const [row] = await rows<{ version: string }>(db.pool, "SELECT VERSION() AS version");
  return row?.version ?? "";
}

/**
 * The largest statement the server accepts, and the largest value a string function (CONCAT)
 * may make, in bytes: its max_allowed_packet as this session sees it.
 */
export async function maxAllowedPacket(db: Database): Promise<number> {
  const [row] = await rows<{ packet: number | string }>(db.pool, "SELECT @@max_allowed_packet AS packet");
  return Number(row?.packet ?? 0);
}
