import type { Outcome } from "../queue/finish.js";

/** What is delivered about a finished job: the webhook's JSON body, and what a mail is made of. */
export interface JobNotice {
  ref: number;
  type: string;
  user: string | null;
  status: "complete" | "failed";
  /** success_text or failure_text as rendered into the result (src/runner/attempt/notice.ts). */
  notice: string;
  /** The result's url (downloads), if any. */
  url: string | null;
}

/** The job's columns an Outcome does not carry. */
export interface NoticeSubject {
  type: string;
  user: string | null;
}

/** The notice of a final outcome; undefined for a retry, which is not an outcome the user hears of. */
export function noticeOf(outcome: Outcome, job: NoticeSubject): JobNotice | undefined {
  if (outcome.kind === "retry") return undefined;
  const result = parseObject(outcome.result);
  const notice = typeof result.notice === "string" ? result.notice : outcome.kind === "failed" ? outcome.error : "";
  return {
    ref: outcome.ref,
    type: job.type,
    user: job.user,
    status: outcome.kind,
    notice,
    url: typeof result.url === "string" ? result.url : null,
  };
}

function parseObject(text: string | null): Record<string, unknown> {
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
