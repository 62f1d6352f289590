import { UsageError } from "../errors.js";
import { UNIT_SECONDS } from "./run-at.js";

/**
 * `--since`: "30m", "2h", "3d", "1w" (optionally followed by "ago") mean that long before the
 * database server's clock; an ISO date ("2024-05-01", local midnight) or date-time (local
 * unless it names a zone) is an instant.
 */
export function parseSince(text: string): Date | { secondsAgo: number } {
  const trimmed = text.trim();
  const relative = /^(\d+(?:\.\d+)?)\s*([smhdw])(?:\s+ago)?$/i.exec(trimmed);
  if (relative) return { secondsAgo: Math.round(Number(relative[1]) * UNIT_SECONDS[relative[2]!.toLowerCase()]!) };
  // A bare date would be UTC midnight to Date(); an operator means midnight where they are.
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(trimmed) ? `${trimmed}T00:00:00` : trimmed;
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(iso)) {
    const date = new Date(iso.replace(" ", "T"));
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new UsageError(`--since: "${text}" is neither an ISO date (2024-05-01, 2024-05-01T09:30) nor a duration like 30m, 2h, 3d, 1w`);
}
