/**
 * The nonces of the grants already exchanged, each kept until its grant's expiry: a grant link
 * works once. In memory: a restart of `web` forgets them, so a link used before the restart
 * would work once more after it, until its `exp`. That is one reason grants must expire within
 * an hour (grant.ts) and applications should give them a minute or two. Several `web`
 * processes do not share it either: run one per deployment.
 */
export class NonceStore {
  private readonly expiries = new Map<string, number>();

  /** Records `nonce` until `expiresAt` (seconds); false when it was recorded already (a replay). */
  use(nonce: string, expiresAt: number, nowSeconds: number): boolean {
    this.prune(nowSeconds);
    if (this.expiries.has(nonce)) return false;
    this.expiries.set(nonce, expiresAt);
    return true;
  }

  get size(): number {
    return this.expiries.size;
  }

  private prune(nowSeconds: number): void {
    for (const [nonce, expiresAt] of this.expiries) if (expiresAt <= nowSeconds) this.expiries.delete(nonce);
  }
}
