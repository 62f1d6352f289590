import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/**
 * Built-in users' passwords: scrypt from node:crypto, stored as `scrypt$N$r$p$salt$hash`
 * (base64url), so that a hash made with other costs still verifies. The cost is OWASP's
 * recommendation for scrypt (N = 2^17, r = 8, p = 1): about 128 MiB and, on this project's
 * 2-core test machine, about 0.4 s per hash, paid once per sign-in, never per request (a
 * sign-in becomes a session cookie). Verifications run one at a time (see `queue`), so a flood
 * of sign-ins costs time, never N × 128 MiB of memory.
 */
const COST = { N: 2 ** 17, r: 8, p: 1 };
const KEY_BYTES = 32;

/** Costs a stored hash may ask for: an operator's hash with absurd ones is refused rather than run. */
const LIMITS = { N: 2 ** 20, r: 32, p: 16 };

function derive(password: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r };
  return new Promise((resolve, reject) => scrypt(password.normalize("NFC"), salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key))));
}

/** A new hash of `password` for the config's web.users.<name>.passwordHash. */
export async function hashPassword(password: string, cost = COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost);
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

interface ParsedHash {
  cost: { N: number; r: number; p: number };
  salt: Buffer;
  key: Buffer;
}

function parseHash(stored: string): ParsedHash | undefined {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const powerOfTwo = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > LIMITS.N || !Number.isInteger(r) || r < 1 || r > LIMITS.r || !Number.isInteger(p) || p < 1 || p > LIMITS.p) return undefined;
  const salt = Buffer.from(parts[4]!, "base64url");
  const key = Buffer.from(parts[5]!, "base64url");
  if (salt.length < 8 || key.length < 16) return undefined;
  return { cost: { N, r, p }, salt, key };
}

/** The one verification under way, so that the next waits for it (memory stays one scrypt's). */
let queue: Promise<unknown> = Promise.resolve();

function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  const result = queue.then(work, work);
  queue = result.catch(() => undefined);
  return result;
}

/** A hash nobody's password matches, verified for unknown users so that their answer takes as long as a known user's. */
const DECOY = { cost: COST, salt: Buffer.alloc(16, 1), key: Buffer.alloc(KEY_BYTES, 0) };

/**
 * Whether `password` matches `stored` (undefined: an unknown user or one without a password,
 * which is checked against a decoy all the same, so that timing does not tell who exists).
 */
export function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const parsed = (stored !== undefined ? parseHash(stored) : undefined) ?? DECOY;
  return oneAtATime(async () => {
    const key = await derive(password, parsed.salt, parsed.cost);
    return parsed !== DECOY && key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
  });
}
