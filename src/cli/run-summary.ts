import type { RunCounts } from "../metrics/run-counts.js";

/** "3 complete, 1 failed, 0 to retry" plus the rarer outcomes when they happened. */
export function describeCounts(c: RunCounts): string {
  const rare = [c.cancelled ? `${c.cancelled} cancelled` : "", c.lost ? `${c.lost} lost` : "", c.released ? `${c.released} put back to pending` : ""].filter(
    Boolean,
  );
  return [`${c.complete} complete`, `${c.failed} failed`, `${c.retried} to retry`, ...rare].join(", ");
}
