import { urlCarriesCredential } from "./file-permissions.js";

/**
 * mysql://user:secret@host/db → mysql://user:***@host/db, for anything that is printed; in an
 * http(s) URL (a webhook) the user name, often a token, and credential-like query values too.
 */
export function redactUrl(url: string | undefined): string {
  if (!url) return "(none)";
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    if (/^https?:$/.test(u.protocol)) {
      if (u.username) u.username = "***";
      for (const name of [...u.searchParams.keys()]) if (urlCarriesCredential(`https://x/?${encodeURIComponent(name)}=1`)) u.searchParams.set(name, "***");
    }
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}
