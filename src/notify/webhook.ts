import type { Config } from "../config/schema.js";
import { PermanentDeliveryError } from "../errors.js";
import type { JobNotice } from "./job-notice.js";

type WebhookConfig = NonNullable<Config["notify"]["webhook"]>;

/** Answers that mean "not now": worth another try. Other 4xx answers will not change. */
const TRANSIENT_STATUSES = new Set([408, 425, 429]);

/**
 * POSTs the notice as JSON ({ ref, type, user, status, notice, url }). Resolves on a 2xx answer;
 * throws PermanentDeliveryError when trying again cannot help, any other error otherwise.
 */
export async function postWebhook(webhook: WebhookConfig, notice: JobNotice, signal: AbortSignal): Promise<void> {
  const timeout = AbortSignal.timeout(webhook.timeoutSeconds * 1000);
  let response: Response;
  try {
    response = await fetch(webhook.url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "offline-jobs", ...webhook.headers },
      body: JSON.stringify(notice),
      signal: AbortSignal.any([signal, timeout]),
      // A redirect would turn the POST into a GET or resend it elsewhere: the URL should be the final one.
      redirect: "manual",
    });
  } catch (error) {
    if (timeout.aborted && !signal.aborted) throw new Error(`no answer within ${webhook.timeoutSeconds} s`);
    throw new Error(fetchFailure(error));
  }
  // The body is not read: dropping it frees the connection for the next delivery.
  await response.body?.cancel().catch(() => undefined);
  if (response.ok) return;
  const answer = `answered ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
  if (response.status >= 500 || TRANSIENT_STATUSES.has(response.status)) throw new Error(answer);
  if (response.status >= 300 && response.status < 400) throw new PermanentDeliveryError(`${answer} (a redirect): set notify.webhook.url to the final address`);
  throw new PermanentDeliveryError(answer);
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, a TLS error, …) is in its cause. */
function fetchFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const message = error instanceof Error ? error.message : String(error);
  const reason = cause?.code ?? cause?.message;
  return reason ? `${message}: ${reason}` : message;
}

/** The webhook's host, for log lines: its path or query may hold a secret token. */
export function webhookHost(webhook: WebhookConfig): string {
  try {
    return new URL(webhook.url).host;
  } catch {
    return "(unparsable URL)";
  }
}
