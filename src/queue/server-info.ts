import { rows, type Database } from "./db.js";

/** The server's version string (e.g. "10.11.6-MariaDB-0+deb12u1"): the first statement of `doctor`, proving the server answers. */
export async function serverVersion(db: Database): Promise<string> {
  const [row] = await rows<{ version: string }>(db.pool, "SELECT VERSION() AS version");
  return row?.version ?? "";
}
