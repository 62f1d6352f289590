import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { NonceStore } from "./nonce-store.js";

/**
 * Signed links from the application (README, "The jobs page"): `?grant=PAYLOAD.SIGNATURE`,
 * PAYLOAD the base64url of a JSON object {user, roles?, permissions?, exp, nonce}, SIGNATURE
 * the lowercase hex HMAC-SHA256 of PAYLOAD (the base64url text, so that nobody has to agree on
 * how JSON is written) with web.grantSecret. Hex because it is what PHP's hash_hmac() and
 * Ruby's OpenSSL::HMAC.hexdigest give by default: one line in the application, no encoding
 * step to get wrong.
 */

/** A grant valid longer than this is refused: a link is for opening now, and its nonce is remembered only this long. */
export const MAX_GRANT_SECONDS = 3600;

/** Far more than any real payload; the signature is checked before anything else is read. */
const MAX_TOKEN_CHARS = 4096;

const claimsSchema = z
  .object({
    user: z.string().regex(/^[^\u0000-\u001f\u007f]{1,191}$/u, "must be 1-191 characters without control characters"),
    roles: z.array(z.string().max(64)).max(32).optional(),
    permissions: z.array(z.string().max(64)).max(64).optional(),
    exp: z.number().int("must be whole seconds since 1970"),
    nonce: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, "must be 16-128 letters, digits, _ or - (e.g. bin2hex(random_bytes(16)))"),
  })
  .strict();

export type GrantClaims = z.infer<typeof claimsSchema>;

export type GrantCheck = { ok: true; claims: GrantClaims } | { ok: false; reason: string };

export function signPayload(payload: string, secret: string): string {
  return createHmac("sha256", secret).update(payload).digest("hex");
}

/** A grant as the application makes one (for tests, and the shape the README's PHP follows). */
export function makeGrant(claims: GrantClaims, secret: string): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
  return `${payload}.${signPayload(payload, secret)}`;
}

/**
 * Checks a grant: signature first (nothing unsigned is parsed), then its claims, its expiry
 * and its nonce, which is used up here. Every refusal is one sentence for the person who
 * followed the link.
 */
export function checkGrant(token: string, secret: string, nonces: NonceStore, nowSeconds: number): GrantCheck {
  const parts = token.split(".");
  if (token.length > MAX_TOKEN_CHARS || parts.length !== 2 || !/^[A-Za-z0-9_-]+$/.test(parts[0]!) || !/^[0-9a-f]{64}$/.test(parts[1]!)) {
    return { ok: false, reason: "the link's grant is not of the form PAYLOAD.SIGNATURE (base64url, then 64 hex digits)" };
  }
  const [payload, signature] = parts as [string, string];
  const expected = Buffer.from(signPayload(payload, secret), "hex");
  if (!timingSafeEqual(expected, Buffer.from(signature, "hex"))) {
    return { ok: false, reason: "the link's signature does not match: it was altered, or signed with another secret than web.grantSecret" };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return { ok: false, reason: "the link's payload is not base64url JSON" };
  }
  const parsed = claimsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `the link's payload is invalid: ${issue.path.join(".") || "payload"}: ${issue.message}` };
  }
  const claims = parsed.data;
  if (claims.exp <= nowSeconds)
    return { ok: false, reason: `the link expired ${nowSeconds - claims.exp} s ago: open the jobs page from the application again` };
  if (claims.exp > nowSeconds + MAX_GRANT_SECONDS) {
    return { ok: false, reason: `the link is valid for ${claims.exp - nowSeconds} s: a grant must expire within ${MAX_GRANT_SECONDS} s` };
  }
  if (!nonces.use(claims.nonce, claims.exp, nowSeconds)) {
    return { ok: false, reason: "the link was used already (each works once): open the jobs page from the application again" };
  }
  return { ok: true, claims };
}
