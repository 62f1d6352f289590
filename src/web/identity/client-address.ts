import net from "node:net";

/**
 * Addresses of reverse proxies (web.trustedHeader.proxies): single addresses and CIDR blocks,
 * IPv4 and IPv6, checked with node's BlockList. An IPv4 address that reaches a dual-stack
 * socket as ::ffff:10.0.0.1 is compared as 10.0.0.1.
 */
export class AddressSet {
  private readonly list = new net.BlockList();
  private readonly empty: boolean;

  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const entry of entries) {
      const [address, bits] = entry.split("/") as [string, string | undefined];
      const family = net.isIP(address) === 6 ? "ipv6" : "ipv4";
      if (bits === undefined) this.list.addAddress(address, family);
      else this.list.addSubnet(address, Number(bits), family);
    }
  }

  has(address: string | undefined): boolean {
    if (this.empty || !address) return false;
    const plain = unmapped(address);
    const family = net.isIP(plain);
    if (family === 0) return false;
    return this.list.check(plain, family === 6 ? "ipv6" : "ipv4");
  }
}

/** ::ffff:127.0.0.1 → 127.0.0.1 (an IPv4 client on a dual-stack socket). */
export function unmapped(address: string): string {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return match ? match[1]! : address;
}

/**
 * The client's address for rate limits: the socket's peer, or, when that peer is one of the
 * proxies, the last address X-Forwarded-For names that is not itself a proxy (the one the
 * nearest trusted proxy saw). A client's own X-Forwarded-For entries come first and are never
 * believed.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | undefined, proxies: AddressSet): string {
  const direct = unmapped(peer ?? "unknown");
  if (!forwardedFor || !proxies.has(direct)) return direct;
  const hops = forwardedFor
    .split(",")
    .map((hop) => unmapped(hop.trim()))
    .filter((hop) => net.isIP(hop) !== 0);
  for (let index = hops.length - 1; index >= 0; index--) if (!proxies.has(hops[index])) return hops[index]!;
  return direct;
}
