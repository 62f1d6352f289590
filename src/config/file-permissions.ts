import fs from "node:fs";

/**
 * A config file that holds a secret (the database password, above all) should be readable by
 * its owner only, as ssh insists for private keys. offline-jobs warns instead of refusing: a
 * cron job that stopped running over a chmod would be worse. The warning names the keys that
 * hold secrets and the file's mode, never a value.
 */

/**
 * A config file that its group or other users can write is refused, not warned about: it
 * names the programs the runner starts (command templates, handler modules), so whoever can
 * write it can run anything as the runner's user. Unlike a readable file (a leak that a chmod
 * stops), this is code execution, and starting anyway would carry it out.
 */
export function writableByOthers(file: string): string | undefined {
  if (process.platform === "win32") return undefined;
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
  } catch {
    return undefined; // the read that follows says what is wrong
  }
  if ((mode & 0o022) === 0) return undefined;
  const who = (mode & 0o002) !== 0 ? "other users" : "its group";
  return `config ${file} is writable by ${who} (mode ${(mode & 0o777).toString(8)}), who could make the runner start any program; refusing it: chmod go-w ${file}`;
}

/** Files already warned about: once per file and process, however often it is read (enqueue() in a loop). */
const warned = new Set<string>();

/** Keys whose string value is a secret by its name. */
const SECRET_KEY = /password|passwd|secret|token|api[-_]?key|authorization|cookie|credential/i;

export function warnIfSecretsReadable(file: string, raw: unknown, warn: (message: string) => void): void {
  if (warned.has(file)) return;
  const problem = secretsReadable(file, raw);
  if (!problem) return;
  warned.add(file);
  warn(problem);
}

/**
 * What is wrong, in one sentence, when the config file `file` (whose content is `raw`) holds
 * secrets and group or others can read it; undefined when it is fine (or on Windows, which has
 * ACLs, not mode bits). `doctor` reports the same sentence.
 */
export function secretsReadable(file: string, raw: unknown): string | undefined {
  if (process.platform === "win32") return undefined;
  const secrets = secretKeys(raw);
  if (secrets.length === 0) return undefined;
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
  } catch {
    return undefined; // it was just read; if it vanished since, there is nothing to protect
  }
  if ((mode & 0o044) === 0) return undefined;
  const who = (mode & 0o004) !== 0 ? "other users" : "its group";
  const shown = secrets.length > 3 ? `${secrets.slice(0, 3).join(", ")} and more` : secrets.join(", ");
  return `config ${file} holds secrets (${shown}) but is readable by ${who} (mode ${(mode & 0o777).toString(8)}); make it private: chmod 600 ${file}`;
}

/** Where the raw config holds secrets: URLs with a password, keys named like secrets (an Authorization header). */
export function secretKeys(raw: unknown, at: string[] = []): string[] {
  if (Array.isArray(raw)) return raw.flatMap((value, i) => secretKeys(value, [...at, String(i)]));
  if (raw === null || typeof raw !== "object") {
    if (typeof raw !== "string" || raw === "") return [];
    const key = at.join(".");
    if (hasPassword(raw)) return [`${key}'s password`];
    if (urlCarriesCredential(raw)) return [`${key}'s credentials`];
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

/** Query parameters that carry a credential: ?token=…, ?access_token=…, ?sig=…, ?api_key=… */
const SECRET_PARAM = /pass|secret|token|key|sig|auth|code|credential|session/i;

/**
 * An http(s) URL that carries a credential: a user name in it (https://user@host: a token used
 * as the user, as many webhook services do), or a query parameter named like one. Such a URL
 * (notify.webhook.url) is a secret like the database password.
 */
export function urlCarriesCredential(text: string): boolean {
  if (!/^https?:\/\//i.test(text)) return false;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.username !== "" || url.password !== "") return true;
  return [...url.searchParams.keys()].some((name) => SECRET_PARAM.test(name));
}
