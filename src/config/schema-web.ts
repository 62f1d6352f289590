import net from "node:net";
import { z } from "zod";

/** The config's `web` section: the jobs page (`offline-jobs web`), its identities and permissions (schema.ts joins it). */

/** The permissions the page itself checks; roles and types may also name others (a type's createPermissions). */
export const WEB_PERMISSIONS = ["view_all", "create_job", "cancel_job", "retry", "boost", "delete", "purge", "export", "clear"] as const;
export type WebPermission = (typeof WEB_PERMISSIONS)[number];

/** A permission's name: the nine above, or one an operator makes up for a type's createPermissions / cancelPermissions. */
export const permissionName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, "a permission name uses a-z, 0-9 and _ (e.g. create_job)");

const roleName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "a role name uses letters, digits, _ . - (at most 64)");

/** The built-in users' names are the job table's `user` values: at most its column's 191 characters, no control characters. */
const userName = z.string().regex(/^[^\u0000-\u001f\u007f]{1,191}$/u, "a user name is 1-191 characters, none of them a control character");

/** scrypt$N$r$p$salt$hash, as `offline-jobs web-user hash` prints it (src/web/identity/password.ts). */
const passwordHash = z
  .string()
  .regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=_-]+\$[A-Za-z0-9+/=_-]+$/, "must be a hash printed by `offline-jobs web-user hash` (scrypt$N$r$p$salt$hash)");

/** An address or a CIDR block (10.0.0.0/8, fd00::/8) of a reverse proxy. */
const proxyAddress = z.string().refine((value) => {
  const [address, bits, extra] = value.split("/");
  const family = net.isIP(address ?? "");
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}, "must be an IP address or a CIDR block, e.g. 127.0.0.1 or 10.0.0.0/8");

/** An origin as browsers send it: scheme, host and optional port, nothing after. */
const origin = z
  .string()
  .regex(
    /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/,
    "must be an origin such as https://intranet.example.org (no path, no trailing /)",
  );

const ALL_PERMISSIONS = [...WEB_PERMISSIONS];

export const webSchema = z
  .object({
    listen: z
      .string()
      .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, "must be host:port, e.g. 127.0.0.1:8080 or [::1]:8080")
      .default("127.0.0.1:8080")
      .describe("address and port `offline-jobs web` listens on (`--listen` replaces it). With no identity configured, only a loopback address is accepted"),
    basePath: z
      .string()
      .regex(/^\/([A-Za-z0-9._~-]+\/?)*$/, "must be a path such as /jobs (letters, digits, . _ ~ -)")
      .default("/")
      .describe("the path the page is served under, e.g. `/jobs` behind a proxy (`--base-path` replaces it); every URL the page makes starts with it"),
    readOnly: z.boolean().default(false).describe("`true`: every change (POST) is refused with 403, whatever the user's roles; signing in still works"),
    localAdmin: z
      .boolean()
      .default(false)
      .describe(
        "with no identity configured (no `grantSecret`, `trustedHeader` or `users`), the page serves loopback only and its anonymous visitor may view every job; `true` lets that visitor act too (every permission)",
      ),
    grantSecret: z
      .string()
      .min(32, "must be at least 32 characters (e.g. `openssl rand -hex 32`)")
      .optional()
      .describe(
        "signed links from the application: `?grant=PAYLOAD.SIGNATURE`, PAYLOAD base64url JSON `{user, roles, exp, nonce}`, SIGNATURE the hex HMAC-SHA256 of PAYLOAD with this secret ([jobs-page.md](jobs-page.md#who-the-user-is)); each link works once, until its `exp`",
      ),
    trustedHeader: z
      .object({
        name: z
          .string()
          .regex(/^[A-Za-z0-9-]{1,64}$/, "must be an HTTP header name, e.g. X-Remote-User")
          .describe("the header the proxy sets to the signed-in user's name, e.g. `X-Remote-User`"),
        proxies: z
          .array(proxyAddress)
          .min(1, "name at least one proxy address: the header is believed only from these")
          .describe("addresses or CIDR blocks of the reverse proxies; the header from any other address is ignored"),
      })
      .strict()
      .optional()
      .describe("identity from a reverse proxy's own login"),
    users: z
      .record(
        userName,
        z
          .object({
            passwordHash: passwordHash
              .optional()
              .describe("scrypt hash from `offline-jobs web-user hash`; unset: the user cannot sign in with a password (a trusted-header user's roles only)"),
            roles: z.array(roleName).default([]).describe("the user's roles; empty: `defaultRoles`"),
          })
          .strict(),
      )
      .default({})
      .describe("built-in users (sign-in form) and the roles of users named by `trustedHeader`"),
    roles: z
      .record(roleName, z.array(permissionName))
      .default({ admin: ALL_PERMISSIONS, viewer: ["view_all"] })
      .describe(
        "role → permissions: `view_all`, `create_job`, `cancel_job`, `retry`, `boost`, `delete`, `purge`, `export`, `clear`, or a name a type's `createPermissions` / `cancelPermissions` asks for",
      ),
    defaultRoles: z.array(roleName).default([]).describe("roles of a user whose identity brings none; with none at all a user sees only their own jobs"),
    allowedOrigins: z
      .array(origin)
      .default([])
      .describe(
        "origins a POST may come from besides the page's own (as the browser sees it through a proxy, e.g. `https://intranet.example.org`); browsers that send `Sec-Fetch-Site` need none",
      ),
    redactKeys: z
      .array(z.string().min(1).max(100))
      .default(["password", "passwd", "secret", "token", "apiKey", "api_key", "authorization", "cookie"])
      .describe("keys of job_data and result (at any depth, any letter case) whose values the page shows as `[redacted]` and lets nobody filter on"),
    sessionHours: z
      .number()
      .positive()
      .max(720)
      .default(8)
      .describe("a sign-in (or a grant) lasts this long; restarting `offline-jobs web` ends every session"),
  })
  .strict()
  .superRefine((web, context) => {
    const known = Object.keys(web.roles);
    const unknown = (role: string) => !Object.hasOwn(web.roles, role);
    for (const role of web.defaultRoles.filter(unknown)) {
      context.addIssue({
        code: "custom",
        path: ["defaultRoles"],
        message: `names role "${role}", which web.roles does not define (it has ${known.join(", ") || "none"})`,
      });
    }
    for (const [name, user] of Object.entries(web.users)) {
      for (const role of user.roles.filter(unknown)) {
        context.addIssue({
          code: "custom",
          path: ["users", name, "roles"],
          message: `names role "${role}", which web.roles does not define (it has ${known.join(", ") || "none"})`,
        });
      }
    }
  });

export type WebConfig = z.infer<typeof webSchema>;
