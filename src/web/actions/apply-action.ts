import type { Config } from "../../config/schema.js";
import type { Database } from "../../queue/db.js";
import { deleteJobs, noteAction } from "../../queue/job-actions.js";
import type { JobScope } from "../../queue/job-query.js";
import { boostJobs, cancelJobs, retryJobs, type Skipped } from "../../queue/repair.js";
import type { Identity } from "../identity/identity.js";
import type { JobAction } from "../permissions.js";

/** What an action did: the refs it changed, those it left alone and why. */
export interface ActionOutcome {
  done: number[];
  /** Running jobs asked to stop (a cancel): their processes stop them within a few seconds. */
  stopping: number[];
  /** Already as asked (cancelled before): nothing changed, nothing noted. */
  unchanged: number[];
  skipped: Skipped[];
}

const PAST: Record<JobAction, string> = { cancel: "cancelled", retry: "retried", boost: "boosted", delete: "deleted" };

export function pastTense(action: JobAction): string {
  return PAST[action];
}

/**
 * Takes `action` on refs already checked one by one (action-routes.tsx), through the same
 * functions as the command line's repairs, and writes who did it into each changed job's log:
 * "cancelled by alice (web)". A deleted job has no log left to write in.
 */
export async function applyAction(
  db: Database,
  config: Config,
  identity: Identity,
  scope: JobScope,
  action: JobAction,
  refs: number[],
): Promise<ActionOutcome> {
  if (refs.length === 0) return { done: [], stopping: [], unchanged: [], skipped: [] };
  let outcome: ActionOutcome;
  switch (action) {
    case "cancel": {
      const result = await cancelJobs(db, refs, config.logMaxBytes);
      outcome = { done: result.cancelled, stopping: result.stopping, unchanged: result.alreadyCancelled, skipped: result.skipped };
      break;
    }
    case "retry": {
      const result = await retryJobs(db, refs, config.logMaxBytes);
      outcome = { done: result.retried, stopping: [], unchanged: [], skipped: result.skipped };
      break;
    }
    case "boost": {
      const result = await boostJobs(db, refs);
      outcome = { done: result.boosted, stopping: [], unchanged: [], skipped: result.skipped };
      break;
    }
    case "delete": {
      const result = await deleteJobs(db, scope, refs);
      return { done: result.deleted, stopping: [], unchanged: [], skipped: result.skipped };
    }
  }
  const changed = [...outcome.done, ...outcome.stopping];
  if (changed.length) await noteAction(db, changed, `${PAST[action]} by ${identity.user} (web)`, config.logMaxBytes);
  return outcome;
}
