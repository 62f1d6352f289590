/**
 * One line at the bottom of a terminal that progress can redraw in place, under the log lines
 * that scroll above it: every write first erases the line, then redraws it. Redraws are
 * throttled so that a fast run does not spend its time painting. Only for terminals: when
 * stderr is not a TTY there is no status line, and the log is plain JSON lines.
 */
export class StatusLine {
  readonly isTTY = true;
  private text = "";
  private drawn = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: NodeJS.WriteStream) {}

  /** A log line: written above the status line. */
  write(chunk: string): boolean {
    this.erase();
    this.out.write(chunk);
    this.draw();
    return true;
  }

  /** Sets the status line's text; drawn within 100 ms. */
  show(text: string): void {
    this.text = text;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.erase();
      this.draw();
    }, 100);
    this.timer.unref();
  }

  /** Removes the status line for good (end of the run). */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.erase();
    this.text = "";
  }

  private erase(): void {
    if (this.drawn) this.out.write("\r\x1b[K");
    this.drawn = false;
  }

  private draw(): void {
    if (!this.text) return;
    const width = Math.max(20, (this.out.columns ?? 80) - 1);
    this.out.write(this.text.length > width ? `${this.text.slice(0, width - 1)}…` : this.text);
    this.drawn = true;
  }
}

/** The status line of this process, when stderr is a terminal. */
export const stderrStatusLine: StatusLine | undefined = process.stderr.isTTY ? new StatusLine(process.stderr) : undefined;
