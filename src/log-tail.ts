/** Characters of already shown log text re-read with each poll, to notice that the log's front was cut. */
const ANCHOR = 64;

/**
 * The new part of a job's log each time it is polled, for `show --follow` and the jobs page's
 * live log. The offset is in characters as the server counts them (CHAR_LENGTH, SUBSTRING).
 * The log is capped by dropping its oldest text, so a log that grew past the cap keeps its
 * length while its content moves: each poll therefore re-reads the last ANCHOR characters
 * already shown and checks they are still there; if not, the whole log is read once and
 * showing resumes after them.
 */
export class LogTail {
  private anchor = "";

  /** `offset`: characters already shown (a reconnecting reader's Last-Event-ID); with no anchor yet, the next read starts right there. */
  constructor(private offset = 0) {}

  /** Characters of the log shown so far. */
  get shown(): number {
    return this.offset;
  }

  /** The 1-based position to read the log from on the next poll. */
  get readFrom(): number {
    return this.offset - [...this.anchor].length + 1;
  }

  /** New text in `text` (the log read from readFrom); undefined when the whole log must be read. */
  next(logLength: number, text: string): string | undefined {
    if (logLength < this.offset || !text.startsWith(this.anchor)) return undefined;
    return this.advance(logLength, text.slice(this.anchor.length));
  }

  /** New text in the whole log, after the part already shown (or all of it, marked, if that part is gone). */
  resync(logLength: number, log: string): string {
    const at = this.anchor ? log.indexOf(this.anchor) : -1;
    const fresh = at >= 0 ? log.slice(at + this.anchor.length) : `[… the log's older text was dropped (it is capped) …]\n${log}`;
    return this.advance(logLength, fresh);
  }

  private advance(logLength: number, fresh: string): string {
    this.offset = logLength;
    this.anchor = [...(this.anchor + fresh)].slice(-ANCHOR).join("");
    return fresh;
  }
}
