/**
 * A delivery that trying again would not fix (a 4xx answer from the webhook, an SMTP 5xx
 * rejection): the notifier gives up on it at once instead of spending its retries.
 */
export class PermanentDeliveryError extends Error {}
