/**
 * success_text / failure_text → the notice the application shows its user (and the e-mail
 * notifier mails). Only the known placeholders are replaced; anything else in braces is left
 * as written. The template and the row's values in it are the row's, so the notice is made
 * plain text (SECURITY.md, "Notifications"): control, bidi and zero-width characters removed,
 * HTML tags removed, links replaced by "[link removed]", the template cut at NOTICE_TEMPLATE_MAX
 * characters. The one link a notice may carry is {url}, which the handler made (a download).
 */
export interface NoticeValues {
  ref: number;
  type: string;
  user: string | null;
  url?: unknown;
  error?: string;
}

/** Characters of a row's success_text/failure_text kept. */
export const NOTICE_TEMPLATE_MAX = 500;

const DEFAULT_FAILURE = "Job {ref} ({type}) failed: {error}";

/** C0 controls but tab and line feed, DEL, C1 controls, bidi, zero-width and invisible marks, BOM. */
const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;
/** A tag, or what a mail client or a page could take for one. */
const TAG = /<\/?[A-Za-z!?][^<>]*>/g;
/** Anything with a scheme (https:, javascript:, data:, mailto:), or www.: what a mail client makes a link of. */
const LINK = /\b(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/|(?:mailto|javascript|data|vbscript|file|tel|sms):|www\.)[^\s<>"]*/gi;

/** A row's text as a notice may carry it: plain, without links or hidden characters. */
export function plainText(text: string): string {
  return text.replace(HIDDEN, "").replace(TAG, "").replace(LINK, "[link removed]");
}

export function renderNotice(template: string | null, values: NoticeValues, failed: boolean): string {
  // The default success notice, "Job {ref} ({type}) is complete.", written out: most jobs
  // carry no success_text, and they need no regex and no table.
  if (template === null && !failed) return `Job ${values.ref} (${values.type}) is complete.`;
  const text = template === null ? DEFAULT_FAILURE : plainText(Array.from(template).slice(0, NOTICE_TEMPLATE_MAX).join(""));
  const table: Record<string, string> = {
    ref: String(values.ref),
    type: plainText(values.type),
    user: plainText(values.user ?? ""),
    url: typeof values.url === "string" ? values.url : "",
    error: plainText(values.error ?? ""),
  };
  return text.replace(/\{(ref|type|user|url|error)\}/g, (_, key: string) => table[key]!);
}
