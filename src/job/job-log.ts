import type { JobLogger } from "./handler.js";

let lastMs = 0;
let lastIso = "";

/**
 * The time as an ISO string, remade only when the millisecond changed: short jobs log their
 * start and end lines, and many jobs', within the same millisecond.
 */
function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

/**
 * One attempt's log, appended to the row's `log` column in pieces: by the live log flusher
 * while a long job runs (so `show --follow` can tail it), and what is left when the attempt
 * ends. Holds only text not yet written. Capped: when that grows past the cap, the oldest text
 * is dropped, because the end of a subprocess's output is what explains a failure.
 */
export class JobLog implements JobLogger {
  private parts: string[] = [];
  private size = 0;
  private dropped = false;

  constructor(private readonly maxChars: number) {}

  info(message: string): void {
    this.line("info", message);
  }
  warn(message: string): void {
    this.line("warn", message);
  }
  error(message: string): void {
    this.line("error", message);
  }
  output(stream: "stdout" | "stderr", text: string): void {
    this.append(stream === "stderr" ? text.replace(/^(?=.)/gm, "! ") : text);
  }

  line(level: string, message: string): void {
    this.append(`[${isoNow()}] ${level} ${message}\n`);
  }

  private append(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size > this.maxChars * 2) this.compact();
  }

  private compact(): void {
    const all = this.parts.join("");
    this.parts = [all];
    if (all.length <= this.maxChars) return;
    this.parts = [all.slice(all.length - this.maxChars)];
    this.size = this.maxChars;
    this.dropped = true;
  }

  /** Whether text is waiting to be written. */
  get hasUnwritten(): boolean {
    return this.size > 0;
  }

  /** The text not yet written to the row, which from now on counts as written. */
  take(): string {
    this.compact();
    const text = this.parts.join("");
    const marker = "[… earlier log dropped]\n";
    const taken = this.dropped ? marker + text.slice(marker.length) : text;
    this.parts = [];
    this.size = 0;
    this.dropped = false;
    return taken;
  }
}
