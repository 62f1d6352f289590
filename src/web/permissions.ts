import type { Config } from "../config/schema.js";
import type { Registry } from "../handlers/registry.js";
import type { JobScope } from "../queue/job-query.js";
import type { Identity } from "./identity/identity.js";

/**
 * What a user may do, decided here for every request (a hidden button is not a permission).
 * Jobs: a user without view_all sees, counts, exports and acts on only the jobs whose `user`
 * is theirs (the scope, applied in SQL by every query the page makes). Types: creating needs
 * create_job plus the type's createPermissions, and a hidden type is never created from the
 * page; cancelling needs cancel_job plus the type's cancelPermissions.
 */

/** The actions the page takes on chosen jobs, each with the permission it needs. */
export const JOB_ACTIONS = { cancel: "cancel_job", retry: "retry", boost: "boost", delete: "delete" } as const;
export type JobAction = keyof typeof JOB_ACTIONS;

export function isJobAction(value: string): value is JobAction {
  return Object.hasOwn(JOB_ACTIONS, value);
}

export function can(identity: Identity, permission: string): boolean {
  return identity.permissions.has(permission);
}

/** The jobs this user may see: everyone's with view_all, else their own. */
export function scopeOf(identity: Identity): JobScope {
  return can(identity, "view_all") ? {} : { owner: identity.user };
}

/** The permissions `names` lacks, for the sentence that says so. */
function missing(identity: Identity, names: readonly string[]): string[] {
  return names.filter((name) => !can(identity, name));
}

/** Why this user may not create a job of `type` from the page, or undefined if they may. */
export function whyNotCreate(identity: Identity, type: string, config: Config, registry: Registry): string | undefined {
  if (!registry.get(type)) return `there is no job type "${type}" here`;
  if (registry.settings(type).hidden) return `the job type "${type}" is not offered on this page (types.${type}.hidden)`;
  const needed = ["create_job", ...(config.types[type]?.createPermissions ?? [])];
  const lacking = missing(identity, needed);
  return lacking.length ? `creating a ${type} job needs the permission ${lacking.join(" and ")}` : undefined;
}

/** The types this user may create, for the menu. */
export function creatableTypes(identity: Identity, config: Config, registry: Registry): string[] {
  return registry.names().filter((type) => whyNotCreate(identity, type, config, registry) === undefined);
}

/** A job as the checks need it. */
export interface JobOwner {
  ref: number;
  type: string;
  user: string | null;
}

/** Why this user may not take `action` on `job`, or undefined if they may. */
export function whyNotAct(identity: Identity, action: JobAction, job: JobOwner, config: Config): string | undefined {
  if (!can(identity, "view_all") && job.user !== identity.user) return `job ${job.ref} is not yours`;
  const needed: string[] = [JOB_ACTIONS[action]];
  if (action === "cancel" && Object.hasOwn(config.types, job.type)) needed.push(...(config.types[job.type]!.cancelPermissions ?? []));
  const lacking = missing(identity, needed);
  return lacking.length
    ? `${action === "delete" ? "deleting" : `${action === "cancel" ? "cancelling" : action === "retry" ? "retrying" : "boosting"}`} job ${job.ref} needs the permission ${lacking.join(" and ")}`
    : undefined;
}

/** Purging deletes everyone's old jobs: it needs purge and view_all. */
export function whyNotPurge(identity: Identity): string | undefined {
  const lacking = missing(identity, ["purge", "view_all"]);
  return lacking.length ? `purging old jobs needs the permission ${lacking.join(" and ")}` : undefined;
}
