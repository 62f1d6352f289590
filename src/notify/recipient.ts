import type { Config } from "../config/schema.js";
import { quote } from "../quote.js";

type EmailConfig = NonNullable<Config["notify"]["email"]>;

/**
 * One plain address (no display name, no list): what a user column or a template may turn
 * into. Anything else (a comma, spaces, angle brackets) is refused, so that a user value can
 * never add recipients or headers.
 */
const ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

export function isPlainAddress(text: string): boolean {
  return text.length <= 254 && ADDRESS.test(text);
}

/** Where a notice goes: an address, nobody (no user, no address), or nobody for a reason worth a log line. */
export type Recipient = { to: string } | { none: true } | { refused: string };

/**
 * The address to mail a job's user at: `addresses[user]` if listed (the config's own word),
 * else the user itself when it is an address, else the `to` template with {user} filled in.
 * An address made from the row must be in `allowedDomains` or the domain `to` spells out:
 * the user column is the row's, and a row must not make the site's sender mail anyone.
 */
export function resolveRecipient(email: EmailConfig, user: string | null): Recipient {
  if (user === null || user.trim() === "") return { none: true };
  const listed = Object.hasOwn(email.addresses, user) ? email.addresses[user] : undefined;
  if (listed !== undefined) return isPlainAddress(listed) ? { to: listed } : { none: true };
  const address = isPlainAddress(user) ? user : email.to?.replaceAll("{user}", user);
  if (address === undefined || !isPlainAddress(address)) return { none: true };
  const domain = address.slice(address.lastIndexOf("@") + 1).toLowerCase();
  if (allowedDomains(email).has(domain)) return { to: address };
  return {
    refused: `user ${quote(user, 80)} resolves to an address at ${quote(domain, 80)}, which is neither in notify.email.addresses nor in notify.email.allowedDomains; no mail sent`,
  };
}

const domainsByConfig = new WeakMap<EmailConfig, Set<string>>();

function allowedDomains(email: EmailConfig): Set<string> {
  let domains = domainsByConfig.get(email);
  if (!domains) {
    domains = new Set(email.allowedDomains.map((d) => d.toLowerCase()));
    // "{user}@example.org": the config wrote example.org itself. "{user}" alone names no domain.
    const written = email.to?.slice(email.to.lastIndexOf("@") + 1);
    if (written && email.to!.includes("@") && !written.includes("{user}")) domains.add(written.toLowerCase());
    domainsByConfig.set(email, domains);
  }
  return domains;
}
