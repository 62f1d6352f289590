import type { JobLogger } from "../handlers/handler.js";

/**
 * One attempt's log, written to the row's `log` column when the attempt ends. Capped: when
 * it grows past the cap, the oldest text is dropped, because the end of a subprocess's
 * output is what explains a failure.
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
    this.append(`[${new Date().toISOString()}] ${level} ${message}\n`);
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

  toString(): string {
    this.compact();
    const text = this.parts.join("");
    const marker = "[… earlier log dropped]\n";
    return this.dropped ? marker + text.slice(marker.length) : text;
  }
}
