/**
 * Delay before retry number `attempt` (1-based): initial · 2^(attempt-1), capped, with ±20%
 * jitter so that a burst of jobs failing together does not come back together.
 */
export function backoffSeconds(attempt: number, backoff: { initialSeconds: number; maxSeconds: number }, random = Math.random): number {
  const base = Math.min(backoff.maxSeconds, backoff.initialSeconds * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()) * 1000) / 1000;
}
