import type { Config } from "../config/schema.js";

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

/**
 * The address to mail a job's user at, or undefined (no mail): `addresses[user]` if listed,
 * else the user itself when it is an address, else the `to` template with {user} filled in
 * when the result is an address. A job without a user is mailed to no one.
 */
export function resolveRecipient(email: EmailConfig, user: string | null): string | undefined {
  if (user === null || user.trim() === "") return undefined;
  const listed = Object.hasOwn(email.addresses, user) ? email.addresses[user] : undefined;
  if (listed !== undefined) return isPlainAddress(listed) ? listed : undefined;
  if (isPlainAddress(user)) return user;
  if (!email.to) return undefined;
  const address = email.to.replaceAll("{user}", user);
  return isPlainAddress(address) ? address : undefined;
}
