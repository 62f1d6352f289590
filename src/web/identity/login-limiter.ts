/**
 * Failed sign-ins counted per client address over a window: past MAX_FAILURES, that address
 * may not try again until the oldest failure leaves the window. A password guesser gets 10
 * tries per 15 minutes per address; each try also costs the server one scrypt (password.ts),
 * run one at a time. At most MAX_ADDRESSES addresses are remembered (the oldest forgotten
 * first), so a flood from many addresses cannot grow memory without bound.
 */
const MAX_FAILURES = 10;
const WINDOW_SECONDS = 15 * 60;
const MAX_ADDRESSES = 10_000;

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures = MAX_FAILURES,
    private readonly windowSeconds = WINDOW_SECONDS,
  ) {}

  /** Seconds until `address` may try again; 0 when it may now. */
  waitSeconds(address: string, nowSeconds: number): number {
    const recent = this.recent(address, nowSeconds);
    if (recent.length < this.maxFailures) return 0;
    return Math.max(1, Math.ceil(recent[recent.length - this.maxFailures]! + this.windowSeconds - nowSeconds));
  }

  fail(address: string, nowSeconds: number): void {
    const recent = this.recent(address, nowSeconds);
    recent.push(nowSeconds);
    this.failures.delete(address);
    this.failures.set(address, recent);
    if (this.failures.size > MAX_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }

  private recent(address: string, nowSeconds: number): number[] {
    return (this.failures.get(address) ?? []).filter((at) => at > nowSeconds - this.windowSeconds);
  }
}
