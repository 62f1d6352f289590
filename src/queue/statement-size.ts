import type { Outcome } from "./finish.js";

/**
 * How many bytes a value adds to a statement once mysql2 has escaped it into the text, as
 * every statement here is sent (`query`, not prepared): its UTF-8 bytes, a backslash before
 * each character sqlstring escapes, and the two quotes. The server refuses a statement larger
 * than its max_allowed_packet, so the runner sizes its shared writes with this (outcome-bounds.ts).
 */
export function escapedBytes(value: string | null): number {
  if (value === null) return 4; // NULL
  return Buffer.byteLength(value, "utf8") + (value.match(ESCAPED)?.length ?? 0) + 2;
}

/** What sqlstring escapes with a backslash. */
const ESCAPED = /[\0\b\t\n\r\x1a"'\\]/g;

/**
 * An outcome's share of a finish statement (finishJobs), an upper bound: its values, and the
 * CASE arms and fence entries that name it (ref and token in each of seven arms, with the
 * expressions' text: under 600 bytes for a 20-digit ref and a 64-character token).
 */
export function outcomeBytes(outcome: Outcome): number {
  const result = outcome.kind === "retry" ? 0 : escapedBytes(outcome.result);
  const error = outcome.kind === "complete" ? 0 : escapedBytes(outcome.error);
  return PER_OUTCOME_SQL + result + error + escapedBytes(outcome.log);
}

/** A live log piece's share of an append statement (appendJobLogs), an upper bound. */
export function logAppendBytes(entry: { text: string }): number {
  return PER_OUTCOME_SQL + escapedBytes(entry.text);
}

const PER_OUTCOME_SQL = 600;

/** The text of a finish or append statement around its outcomes' shares. */
export const STATEMENT_SQL = 2048;
