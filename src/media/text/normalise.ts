/**
 * Text as it is stored: one form whatever the source, so that the same document read by
 * pdftotext or pdfjs, or saved as DOCX or HTML, indexes the same way. Lengths are UTF-16 code
 * units (what JavaScript and the result's `chars` count).
 */

/** Horizontal white space, including the no-break and typographic spaces HTML and Word use. */
const SPACES = /[\t\v \u00A0\u1680\u2000-\u200A\u202F\u205F\u3000\uFEFF]+/g;
/** C0 and C1 controls except \t and \n (which are handled as white space), and DEL. */
const CONTROLS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function normaliseText(text: string): string {
  return (
    text
      // Lone surrogates (broken UTF-16) would become U+FFFD in the database anyway; do it here.
      .replace(LONE_SURROGATE, "\uFFFD")
      .replace(/\r\n?|[\u0085\u2028]/g, "\n")
      // A page break (pdftotext) or paragraph separator starts a new paragraph.
      .replace(/[\f\u2029]/g, "\n\n")
      .replace(/[\t\v]/g, " ")
      .replace(CONTROLS, "")
      .normalize("NFC")
      .replace(SPACES, " ")
      .replace(/ ?\n ?/g, "\n")
      .replace(/\n{3,}/g, "\n\n")
      .trim()
  );
}

/** The first `max` code units, never ending in half a surrogate pair. */
export function capText(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return { text: text.slice(0, end).trimEnd(), truncated: true };
}

/** A short one-line preview: whole words where possible, "…" when cut. */
export function excerptOf(text: string, max: number): string {
  if (max <= 0) return "";
  const flat = text.replace(/\s+/g, " ");
  if (flat.length <= max) return flat;
  let cut = capText(flat, max - 1).text;
  const space = cut.lastIndexOf(" ");
  if (space > max / 2) cut = cut.slice(0, space);
  return `${cut.trimEnd()}…`;
}

/**
 * Collects raw text up to a budget, so that a 500 MB spreadsheet is not read to the end when
 * only the first million characters are kept. The budget is generous (normalising only
 * shrinks text, mostly white space); `full` tells an extractor to stop.
 */
export class TextCollector {
  private readonly parts: string[] = [];
  private length = 0;
  /** True once something was dropped for lack of room. */
  truncated = false;

  constructor(readonly budget: number) {}

  get full(): boolean {
    return this.length >= this.budget;
  }

  push(text: string): void {
    if (text === "") return;
    if (this.full) {
      this.truncated = true;
      return;
    }
    const room = this.budget - this.length;
    if (text.length > room) {
      text = text.slice(0, room);
      this.truncated = true;
    }
    this.parts.push(text);
    this.length += text.length;
  }

  /** Ends the current line unless the text already ends with one. */
  newline(count = 1): void {
    const last = this.parts[this.parts.length - 1];
    if (last === undefined) return;
    const have = /\n*$/.exec(last)![0].length;
    if (have < count) this.push("\n".repeat(count - have));
  }

  text(): string {
    return this.parts.join("");
  }
}

/** Raw characters worth collecting for `maxChars` kept ones: room for the white space normalising removes. */
export function rawBudget(maxChars: number): number {
  return maxChars * 2 + 65_536;
}
