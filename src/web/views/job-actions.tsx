import type { Config } from "../../config/schema.js";
import type { JobStatus } from "../../queue/admin.js";
import type { Identity } from "../identity/identity.js";
import type { Paths } from "../paths.js";
import { whyNotAct, type JobAction, type JobOwner } from "../permissions.js";

/** The actions that make sense for a job in `status` (the server checks again when one is asked for). */
export function actionsFor(status: JobStatus): JobAction[] {
  switch (status) {
    case "pending":
      return ["cancel", "boost", "delete"];
    case "running":
      return ["cancel", "boost"];
    case "failed":
    case "cancelled":
      return ["retry", "delete"];
    case "complete":
      return ["delete"];
  }
}

const LABELS: Record<JobAction, string> = { cancel: "Cancel", retry: "Retry", boost: "Boost", delete: "Delete" };

/** One job's action buttons, each its own POST form; only those this user may take on it. */
export function JobActionButtons(props: { job: JobOwner & { status: JobStatus }; identity: Identity; config: Config; paths: Paths; readOnly: boolean }) {
  if (props.readOnly) return <></>;
  const allowed = actionsFor(props.job.status).filter((action) => whyNotAct(props.identity, action, props.job, props.config) === undefined);
  if (allowed.length === 0) return <></>;
  return (
    <div class="toolbar">
      {allowed.map((action) => (
        <form method="post" action={props.paths.to("/actions")} class="inline-form">
          <input type="hidden" name="action" value={action} />
          <input type="hidden" name="ref" value={String(props.job.ref)} />
          <input type="hidden" name="back" value={props.paths.to(`/job/${props.job.ref}`)} />
          <button type="submit" class={action === "delete" || action === "cancel" ? "danger" : undefined}>
            {LABELS[action]}
          </button>
        </form>
      ))}
    </div>
  );
}
