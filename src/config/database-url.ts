/**
 * A database URL whose password holds a "/", "?", "#" or "@" that is not percent-encoded
 * parses as something else: "mysql://u:pa/ss@host/db" is host "u" with port "pa" (refused by
 * the URL parser with a message that does not say why), "mysql://u:12/ss@host/db" even
 * connects to a host named "u". This says what is wrong in words and never shows the URL.
 * A scheme other than mysql:// (or mariadb://) is refused too. Undefined when the URL is fine.
 */
export function databaseUrlProblem(url: string, key: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (!scheme) return `${key} must look like mysql://user:password@host:3306/database`;
  // mysql2 would take any scheme and then time out after 10 s on a server that speaks another
  // protocol (a PostgreSQL port, a web server): say so at once.
  if (!/^(mysql|mariadb)$/i.test(scheme[1]!)) {
    return `${key} is a ${scheme[1]}:// URL; offline-jobs needs MySQL or MariaDB: mysql://user:password@host:3306/database`;
  }
  const rest = url.slice(scheme[0].length);
  const authority = rest.split(/[/?#]/, 1)[0]!;
  const encodeHint = 'percent-encode special characters in the user name and password ("/" as %2F, "?" as %3F, "#" as %23, "@" as %40, "%" as %25)';
  // The "@" that ends the user and password is after the authority: a "/", "?" or "#" before it cut it short.
  if (!authority.includes("@") && rest.includes("@"))
    return `${key}: the user name or password holds a "/", "?" or "#" that is not percent-encoded; ${encodeHint}`;
  if (authority.split("@").length > 2) return `${key}: the user name or password holds an "@" that is not percent-encoded; ${encodeHint}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${key} is not a valid URL; ${encodeHint}`;
  }
  try {
    decodeURIComponent(parsed.password);
    decodeURIComponent(parsed.username);
  } catch {
    return `${key}: the user name or password holds a "%" that does not start a percent-encoded character; ${encodeHint}`;
  }
  return undefined;
}

/** The servers the config names: `database.urls` (a cluster's nodes, in order), else `database.url` alone; empty when neither is set. */
export function configuredUrls(database: { url?: string; urls?: string[] }): string[] {
  return database.urls?.length ? database.urls : database.url ? [database.url] : [];
}
