import { terminalJson, terminalText } from "../quote.js";

/**
 * job_data and result for the page: parsed, with the values of the keys web.redactKeys names
 * (at any depth, any letter case) replaced by "[redacted]", pretty-printed, and with the
 * characters a reader cannot see (controls, bidi overrides, zero-width marks) made visible.
 * Text that is not JSON is shown as it is, made visible the same way: it cannot be redacted,
 * which is why applications should keep secrets out of job rows altogether.
 */
export const REDACTED = "[redacted]";

/** Nesting deeper than this is shown cut, rather than walked (a hostile row can nest thousands deep). */
const MAX_DEPTH = 64;

export class Redactor {
  private readonly keys: Set<string>;

  constructor(keys: readonly string[]) {
    this.keys = new Set(keys.map((key) => key.toLowerCase()));
  }

  /** Whether `key` is one whose values are hidden (and which no filter may name). */
  hides(key: string): boolean {
    return this.keys.has(key.toLowerCase());
  }

  value(value: unknown, depth = 0): unknown {
    if (value === null || typeof value !== "object") return value;
    if (depth >= MAX_DEPTH) return "[nested too deeply to show]";
    if (Array.isArray(value)) return value.map((item) => this.value(item, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, this.hides(key) ? REDACTED : this.value(inner, depth + 1)]));
  }

  /** A column's JSON text, redacted and indented; text that is not JSON, as text. */
  text(column: string | null): string {
    if (column === null) return "";
    let parsed: unknown;
    try {
      parsed = JSON.parse(column);
    } catch {
      return terminalText(column);
    }
    return terminalJson(this.value(parsed), 2);
  }
}
