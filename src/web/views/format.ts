/** Small text formats the views share. */

/** 12,345, or "10,000+" when the count stopped at its cap. */
export function formatCount(count: number, capped = false): string {
  return `${count.toLocaleString("en-US")}${capped ? "+" : ""}`;
}

/** A duration in seconds as people read it: "850 ms", "42 s", "3 min 20 s", "5 h 12 min", "3 d 4 h". */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds === 0) return "0 s";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${Math.round(seconds * 10) / 10} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ""}`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ""}`;
  return `${Math.floor(s / 86_400)} d${Math.floor((s % 86_400) / 3600) ? ` ${Math.floor((s % 86_400) / 3600)} h` : ""}`;
}

/** A DATETIME(3) as the server sent it ("2025-03-01 12:00:00.123"), to the second. */
export function formatTime(value: string | null | undefined): string {
  return value ? value.replace(/\.\d+$/, "") : "";
}

/** "http://" and "https://" URLs only: a row's `javascript:` or `data:` URL is never made a link. */
export function safeHttpUrl(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length > 2000) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}
