import { setRunning, type ClaimOptions } from "./claim.js";
import { CLAIM_COLUMNS, toClaimedJob, type ClaimedJob, type ClaimRow } from "./claimed-job.js";
import { rows, withTransaction, type Database } from "./db.js";
import { lockLimitedTypes } from "./type-slots.js";

/**
 * Claims one job by ref for `run --job`, whatever its run_after: the operator asked for it
 * now. It must be pending; a limited type at its limit is refused rather than overrun.
 */
export async function claimJobByRef(
  db: Database,
  ref: number,
  options: Omit<ClaimOptions, "types" | "max">,
): Promise<{ job?: ClaimedJob; reason?: string }> {
  return withTransaction(db, async (sql) => {
    const [row] = await rows<ClaimRow & { status: string; locked_by: string | null }>(
      sql,
      `SELECT ${CLAIM_COLUMNS}, status, locked_by FROM ${db.quoted()} WHERE ref = ? FOR UPDATE`,
      [ref],
    );
    if (!row) return { reason: `job ${ref} does not exist` };
    if (row.status !== "pending") {
      const holder = row.status === "running" && row.locked_by ? ` (held by ${row.locked_by}; --clear-lock re-queues it if that process is dead)` : "";
      return { reason: `job ${ref} is ${row.status}, not pending${holder}` };
    }
    if (row.type in options.limits) {
      const room = await lockLimitedTypes(db, sql, [row.type], options.limits, "WAIT");
      if ((room.get(row.type) ?? 0) <= 0) {
        return { reason: `job ${ref}'s type ${row.type} is at its concurrency limit (${options.limits[row.type]} running); try again later` };
      }
    }
    const token = await setRunning(db, sql, [ref], options);
    return { job: toClaimedJob(row, token, row.attempts + 1) };
  });
}
