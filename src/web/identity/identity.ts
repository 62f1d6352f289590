import type { Config, WebConfig } from "../../config/schema.js";
import { WEB_PERMISSIONS } from "../../config/schema-web.js";

/** How a request's user was known: a grant's session, a password's session, the proxy's header, or the anonymous loopback visitor. */
export type IdentitySource = "grant" | "password" | "header" | "local";

export interface Identity {
  /** The name compared with jobs' `user` column, and written in their logs ("cancelled by alice (web)"). */
  user: string;
  permissions: ReadonlySet<string>;
  via: IdentitySource;
}

/** The anonymous visitor's name, when no identity is configured (loopback only). */
export const LOCAL_USER = "local";

/**
 * Whether the config says who users are: a grant secret, a trusted header, or a built-in user
 * who can sign in. Without one the page is "closed by default": loopback only (open-mode.ts).
 */
export function identityConfigured(web: WebConfig): boolean {
  return web.grantSecret !== undefined || web.trustedHeader !== undefined || Object.values(web.users).some((user) => user.passwordHash !== undefined);
}

/** The permissions of `roles`; a role web.roles does not define is named in `unknown`. */
export function permissionsOf(web: WebConfig, roles: readonly string[]): { permissions: Set<string>; unknown: string[] } {
  const permissions = new Set<string>();
  const unknown: string[] = [];
  for (const role of roles) {
    if (!Object.hasOwn(web.roles, role)) unknown.push(role);
    else for (const permission of web.roles[role]!) permissions.add(permission);
  }
  return { permissions, unknown };
}

/** A built-in or trusted-header user's roles: their own in web.users, else web.defaultRoles. */
export function rolesOfUser(web: WebConfig, user: string): string[] {
  const own = Object.hasOwn(web.users, user) ? web.users[user]!.roles : [];
  return own.length ? own : web.defaultRoles;
}

/** Every permission the config mentions: the page's own, the roles', the types'. The local administrator has them all. */
export function everyPermission(config: Config): Set<string> {
  const all = new Set<string>(WEB_PERMISSIONS);
  for (const permissions of Object.values(config.web.roles)) for (const permission of permissions) all.add(permission);
  for (const type of Object.values(config.types))
    for (const permission of [...(type.createPermissions ?? []), ...(type.cancelPermissions ?? [])]) all.add(permission);
  return all;
}

/** The anonymous loopback visitor: may view every job, and act too with web.localAdmin. */
export function localIdentity(config: Config): Identity {
  return { user: LOCAL_USER, permissions: config.web.localAdmin ? everyPermission(config) : new Set(["view_all"]), via: "local" };
}
