import { execute, withRetry, type Database } from "./db.js";

export interface TextSinkValues {
  text: string;
  resource: string | number | null;
  field: string | number | null;
  ref: number;
}

/**
 * Runs the config's extractText.sink.sql with named parameters (:text, :resource, :field,
 * :ref; the config schema allows no others), so that a site maps extracted text onto its
 * own table. Values are sent as parameters, never spliced into the statement.
 * Returns the number of rows the statement affected.
 */
export async function writeTextSink(db: Database, statement: string, values: TextSinkValues): Promise<number> {
  const params: unknown[] = [];
  const sql = statement.replace(/:([A-Za-z_]\w*)/g, (_, name: keyof TextSinkValues) => {
    params.push(values[name]);
    return "?";
  });
  // The operator's statement may be an INSERT: not sent twice when its node was lost under it.
  const header = await withRetry(() => execute(db.pool, sql, params), { lostWithNode: "throw" });
  return header.affectedRows;
}
