import { UsageError } from "../errors.js";

/** Seconds in each unit of the durations the command line takes (--run-at +2h, --since 3d). */
export const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** "+90s", "+10m", "+2h", "+1d" from now, or an ISO 8601 date-time (with a zone, or local). */
export function parseRunAt(text: string, now = Date.now()): Date {
  const relative = /^\+(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (relative) return new Date(now + Number(relative[1]) * UNIT_SECONDS[relative[2]!]! * 1000);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const date = new Date(text);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new UsageError(`--run-at: "${text}" is neither an ISO date-time nor +N[s|m|h|d]`);
}
