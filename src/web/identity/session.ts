import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { Identity } from "./identity.js";

/**
 * The session cookie a sign-in or a grant becomes: base64url JSON {user, permissions, via,
 * exp}, then "." and its HMAC-SHA256 (base64url) with a key made at start-up. The key is never
 * written anywhere, so restarting `offline-jobs web` ends every session (the application's
 * next link, or the sign-in form, makes a new one) and there is no session secret for an
 * operator to keep. The permissions are those of the sign-in, resolved once from the roles.
 */
export const SESSION_COOKIE = "oj_session";

const sessionSchema = z
  .object({
    user: z.string().min(1).max(191),
    permissions: z.array(z.string()).max(256),
    via: z.enum(["grant", "password"]),
    exp: z.number(),
  })
  .strict();

export class SessionKeeper {
  private readonly key = randomBytes(32);

  constructor(private readonly lifetimeSeconds: number) {}

  /** The cookie's value for `identity`, valid from `nowSeconds` for the session lifetime. */
  issue(identity: Identity, nowSeconds: number): { value: string; maxAge: number } {
    const payload = Buffer.from(
      JSON.stringify({ user: identity.user, permissions: [...identity.permissions], via: identity.via, exp: nowSeconds + this.lifetimeSeconds }),
    ).toString("base64url");
    return { value: `${payload}.${this.sign(payload)}`, maxAge: this.lifetimeSeconds };
  }

  /** The identity a cookie carries, or undefined if it is missing, altered, malformed or expired. */
  read(value: string | undefined, nowSeconds: number): Identity | undefined {
    if (!value || value.length > 8192) return undefined;
    const [payload, signature, extra] = value.split(".");
    if (!payload || !signature || extra !== undefined) return undefined;
    const expected = Buffer.from(this.sign(payload), "base64url");
    const given = Buffer.from(signature, "base64url");
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    let parsed;
    try {
      parsed = sessionSchema.safeParse(JSON.parse(Buffer.from(payload, "base64url").toString("utf8")));
    } catch {
      return undefined;
    }
    if (!parsed.success || parsed.data.exp <= nowSeconds) return undefined;
    return { user: parsed.data.user, permissions: new Set(parsed.data.permissions), via: parsed.data.via };
  }

  private sign(payload: string): string {
    return createHmac("sha256", this.key).update(payload).digest("base64url");
  }
}
