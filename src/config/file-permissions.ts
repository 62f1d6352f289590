import fs from "node:fs";

/**
 * A config file that holds a secret (the database password, above all) should be readable by
 * its owner only, as ssh insists for private keys. offline-jobs warns instead of refusing: a
 * cron job that stopped running over a chmod would be worse. The warning names the keys that
 * hold secrets and the file's mode, never a value.
 */

/** Files already warned about: once per file and process, however often it is read (enqueue() in a loop). */
const warned = new Set<string>();

/** Keys whose string value is a secret by its name. */
const SECRET_KEY = /password|passwd|secret|token|api[-_]?key|authorization|cookie|credential/i;

export function warnIfSecretsReadable(file: string, raw: unknown, warn: (message: string) => void): void {
  if (process.platform === "win32" || warned.has(file)) return; // Windows has ACLs, not mode bits
  const secrets = secretKeys(raw);
  if (secrets.length === 0) return;
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
  } catch {
    return; // it was just read; if it vanished since, there is nothing to protect
  }
  if ((mode & 0o044) === 0) return;
  warned.add(file);
  const who = (mode & 0o004) !== 0 ? "other users" : "its group";
  const shown = secrets.length > 3 ? `${secrets.slice(0, 3).join(", ")} and more` : secrets.join(", ");
  warn(`config ${file} holds secrets (${shown}) but is readable by ${who} (mode ${(mode & 0o777).toString(8)}); make it private: chmod 600 ${file}`);
}

/** Where the raw config holds secrets: URLs with a password, keys named like secrets (an Authorization header). */
export function secretKeys(raw: unknown, at: string[] = []): string[] {
  if (Array.isArray(raw)) return raw.flatMap((value, i) => secretKeys(value, [...at, String(i)]));
  if (raw === null || typeof raw !== "object") {
    if (typeof raw !== "string" || raw === "") return [];
    const key = at.join(".");
    if (hasPassword(raw)) return [`${key}'s password`];
    if (SECRET_KEY.test(at.at(-1) ?? "")) return [key];
    return [];
  }
  return Object.entries(raw).flatMap(([key, value]) => (key.startsWith("//") ? [] : secretKeys(value, [...at, key])));
}

function hasPassword(text: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/\s]*:[^/\s]*@/i.test(text)) return false;
  try {
    return new URL(text).password !== "";
  } catch {
    return true; // unparsable, but it looks like user:password@host
  }
}
