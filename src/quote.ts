/**
 * Values from job rows inside messages (a job's error, the logs). A row may hold anything, so
 * what a terminal or a web page would act on is made visible — control characters, line
 * breaks, bidirectional overrides (which show "report‮gpj.exe" as "reportexe.jpg"), zero-width
 * characters, lone surrogates — and a long value is shortened in the middle, so that one
 * hostile row can neither spoof nor drown the sentence it appears in.
 */

/** What JSON.stringify leaves as it is but a reader must see: C1 controls, bidi and zero-width marks, separators, BOM. */
const HIDDEN = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;
/** The same plus C0 controls and lone surrogates, for text that was not through JSON.stringify. */
const INVISIBLE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** A value in double quotes, escaped as JSON and then some, at most `max` characters of it. */
export function quote(value: string, max = 160): string {
  return JSON.stringify(shorten(value, max)).replace(HIDDEN, escape);
}

/** Text with its invisible and control characters escaped (\n, \t and the rest as \uXXXX). */
export function visible(text: string): string {
  return text.replace(INVISIBLE, (c) => (c === "\n" ? "\\n" : c === "\t" ? "\\t" : escape(c)));
}

/**
 * Text of several lines for a terminal (a job's log, a result): line breaks and tabs kept, every
 * other control character escaped, ESC, BEL, CR, C1's CSI (U+009B) included, with the bidi and
 * zero-width marks: a row's text cannot clear the screen, set the clipboard (OSC 52), retitle the
 * window, or overwrite or reorder what is printed around it.
 */
export function terminalText(text: string): string {
  return text.replace(INVISIBLE, (c) => (c === "\n" || c === "\t" ? c : escape(c)));
}

/**
 * JSON for stdout: JSON.stringify's, with what it leaves raw but a terminal acts on or hides
 * (C1 controls such as U+009B, DEL, bidi and zero-width marks) written as \uXXXX escapes. A
 * parser reads the very same value.
 */
export function terminalJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(HIDDEN, escape);
}

/** Keeps the start and the end (where a path says the most), `…` between; counts code points. */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  const head = Math.ceil((max - 1) / 2);
  return `${chars.slice(0, head).join("")}…${chars.slice(chars.length - (max - 1 - head)).join("")}`;
}

/**
 * JSON.parse's reason without the piece of input V8 quotes in it (which may be anything: a
 * hostile job row, or the config's password), plus where when V8 says: "at line 3, column 14"
 * when the text is given and has several lines, else "at character N". (For an unexpected
 * token V8 gives only that quote, no position, so the reason stands alone.)
 */
export function jsonSyntaxProblem(message: string, text?: string): string {
  const at = /at position (\d+)/.exec(message);
  const reason = message
    .replace(/ (in JSON )?at position \d+.*$/s, "")
    .replace(/, (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, "")
    .replace(/^(\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, "Unexpected text");
  let where = "";
  if (at) {
    const position = Number(at[1]);
    const before = text?.slice(0, position).split("\n");
    where = before && before.length > 1 ? ` at line ${before.length}, column ${before.at(-1)!.length + 1}` : ` at character ${position + 1}`;
  }
  return `${visible(shorten(reason, 80))}${where}`;
}
