import { failRefused, setRunning, type ClaimOptions } from "./claim.js";
import { CLAIM_COLUMNS, refusalOf, toClaimedJob, type ClaimedJob, type ClaimRow } from "./claimed-job.js";
import { rows, withTransaction, type Database } from "./db.js";
import { lockLimitedTypes } from "./type-slots.js";

/**
 * Claims one job by ref for `run --job`, whatever its run_after: the operator asked for it
 * now. It must be pending; a limited type at its limit is refused rather than overrun.
 */
export async function claimJobByRef(db: Database, ref: number, options: Omit<ClaimOptions, "types" | "max">): Promise<{ job?: ClaimedJob; reason?: string }> {
  return withTransaction(db, async (sql) => {
    const [row] = await rows<ClaimRow & { status: string; locked_by: string | null }>(
      sql,
      `SELECT ${CLAIM_COLUMNS}, status, locked_by FROM ${db.quoted()} WHERE ref = ? FOR UPDATE`,
      [ref],
    );
    if (!row) return { reason: `job ${ref} does not exist (\`offline-jobs list\` shows the jobs there are)` };
    if (row.status !== "pending") return { reason: notPending(ref, row.status, row.locked_by) };
    const refusal = refusalOf(row);
    if (refusal) {
      await failRefused(db, sql, [row]);
      return { reason: `${refusal}; it is failed now` };
    }
    if (row.type in options.limits) {
      const room = await lockLimitedTypes(db, sql, [row.type], options.limits, "WAIT");
      if ((room.get(row.type) ?? 0) <= 0) {
        return { reason: `its type ${row.type} is at its concurrency limit (${options.limits[row.type]} running); try again later` };
      }
    }
    const token = await setRunning(db, sql, [ref], options);
    return { job: toClaimedJob(row, token, row.attempts + 1, true) };
  });
}

/** Why a job that is not pending cannot be run now, and what to do instead. */
function notPending(ref: number, status: string, lockedBy: string | null): string {
  const retry = `\`offline-jobs retry ${ref}\` runs it again`;
  if (status === "running") {
    return `it is running in ${lockedBy ?? "another process"}, whose lease has not expired: wait for it to end, or, if that process on this host is dead, run \`offline-jobs --clear-lock --job ${ref}\``;
  }
  if (status === "cancelled") return `it was cancelled; nothing to run (${retry})`;
  if (status === "failed") return `it has failed; nothing to run (${retry})`;
  if (status === "complete") return `it has completed already; nothing to run (\`offline-jobs show ${ref}\` shows its result)`;
  return `it is ${status}, not pending; nothing to run`;
}
