import type { JobPage } from "../../queue/job-page.js";
import type { MatchCount } from "../../queue/job-matches.js";
import type { Identity } from "../identity/identity.js";
import type { Paths } from "../paths.js";
import { can, JOB_ACTIONS, type JobAction } from "../permissions.js";
import { listSearch, TABS, type ListParams } from "../query/list-query.js";
import { formatCount } from "./format.js";
import type { Drawn } from "../refresh.js";
import { JobsTable, type JobsTableProps } from "./jobs-table.js";

/** How often the table refreshes itself while the tab is visible (app.js pauses it otherwise). */
export const LIST_REFRESH_SECONDS = 5;

export interface JobsPageProps {
  params: ListParams;
  page: JobPage;
  after: string | undefined;
  count: MatchCount;
  identity: Identity;
  paths: Paths;
  readOnly: boolean;
  /** The types offered in the type filter. */
  types: string[];
  drawn: Drawn;
}

const TAB_LABELS: Record<(typeof TABS)[number], string> = {
  all: "All",
  pending: "Pending",
  running: "Running",
  failed: "Failed",
  complete: "Complete",
  cancelled: "Cancelled",
};

const ACTION_LABELS: Record<JobAction, string> = { cancel: "Cancel", retry: "Retry", boost: "Boost", delete: "Delete" };

/** The jobs list: tabs, filters, what can be done with the jobs, and the table that refreshes itself. */
export function JobsPage(props: JobsPageProps) {
  const { params, paths, identity } = props;
  const actions = props.readOnly ? [] : (Object.keys(JOB_ACTIONS) as JobAction[]).filter((action) => can(identity, JOB_ACTIONS[action]));
  const rowsUrl = paths.to("/jobs/rows", listSearch(params, { after: props.after }));
  const filter = listSearch(params);
  return (
    <section>
      <h1>Jobs</h1>
      <nav class="tabs">
        {TABS.map((tab) => (
          <a href={paths.to("/jobs", listSearch(params, { tab }))} class={params.tab === tab ? "current" : undefined}>
            {TAB_LABELS[tab]}
          </a>
        ))}
      </nav>
      <Filters {...props} />
      <div class="toolbar">
        <span>
          {formatCount(props.count.count, props.count.capped)} job{props.count.count === 1 && !props.count.capped ? "" : "s"} match
          {props.count.partial ? " (at least: only the newest rows were read for the job_data filter)" : ""}
        </span>
        <span class="spacer"></span>
        <button type="button" hx-get={rowsUrl} hx-target="#job-rows" hx-swap="outerHTML">
          Refresh
        </button>
        {can(identity, "export") && (
          <a class="button" href={paths.to("/export.csv", filter)}>
            Export CSV
          </a>
        )}
      </div>
      <form method="post" action={paths.to("/actions")}>
        <input type="hidden" name="back" value={paths.to("/jobs", listSearch(params, { after: props.after }))} />
        {actions.length > 0 && (
          <div class="toolbar">
            <span class="muted">Ticked jobs:</span>
            {actions.map((action) => (
              <button type="submit" name="action" value={action} class={action === "delete" || action === "cancel" ? "danger" : undefined}>
                {ACTION_LABELS[action]}
              </button>
            ))}
            <span class="spacer"></span>
            <span class="muted">Every matching job:</span>
            {actions.map((action) => (
              <a class="button" href={paths.to("/actions/confirm", new URLSearchParams([["action", action], ...filter]))}>
                {ACTION_LABELS[action]} all…
              </a>
            ))}
          </div>
        )}
        <JobRows
          drawn={props.drawn}
          table={{
            jobs: props.page.jobs,
            nextCursor: props.page.nextCursor,
            scanStopped: props.page.scanStopped,
            after: props.after,
            params,
            paths,
            selectable: actions.length > 0,
          }}
        />
      </form>
      <Maintenance identity={identity} paths={paths} readOnly={props.readOnly} />
    </section>
  );
}

/**
 * The table in its self-refreshing frame. The frame's URL carries the change stamp the table
 * was drawn at (refresh.ts): a refresh whose answer is 204 leaves it, any other replaces the
 * whole frame, and so the stamp it refreshes from.
 */
export function JobRows(props: { drawn: Drawn; table: JobsTableProps }) {
  const { paths, params, after } = props.table;
  const url = paths.to("/jobs/rows", listSearch(params, { after, stamp: props.drawn.stamp, at: props.drawn.at }));
  return (
    <div id="job-rows" data-auto-refresh hx-get={url} hx-trigger={`every ${LIST_REFRESH_SECONDS}s, refresh-now`} hx-swap="outerHTML" aria-live="polite">
      <JobsTable {...props.table} />
    </div>
  );
}

function Filters(props: JobsPageProps) {
  const { params, paths, identity } = props;
  const types = [...new Set([...props.types, ...params.type])].sort();
  return (
    <form method="get" action={paths.to("/jobs")} class="filters">
      {params.tab !== "all" && <input type="hidden" name="tab" value={params.tab} />}
      <label>
        Type
        <select name="type">
          <option value="">any</option>
          {types.map((type) => (
            <option value={type} selected={params.type.includes(type)}>
              {type}
            </option>
          ))}
        </select>
      </label>
      {can(identity, "view_all") && (
        <label>
          User
          <input name="user" value={params.user} maxlength={200} size={12} />
        </label>
      )}
      <label>
        Host
        <input name="host" value={params.host} maxlength={200} size={10} />
      </label>
      <label>
        Created from
        <input type="date" name="from" value={params.from} />
      </label>
      <label>
        to
        <input type="date" name="to" value={params.to} />
      </label>
      <label>
        Ref
        <input name="ref" value={params.ref} inputmode="numeric" maxlength={16} size={7} />
      </label>
      <label>
        job_data field
        <input name="field" value={params.field} maxlength={64} size={10} placeholder="resource" />
      </label>
      <label>
        = value
        <input name="value" value={params.value} maxlength={200} size={10} />
      </label>
      <label>
        Sort by
        <select name="sort">
          {(["created", "priority", "ref"] as const).map((sort) => (
            <option value={sort} selected={params.sort === sort}>
              {sort}
            </option>
          ))}
        </select>
      </label>
      <label>
        Order
        <select name="dir">
          <option value="desc" selected={params.dir === "desc"}>
            descending
          </option>
          <option value="asc" selected={params.dir === "asc"}>
            ascending
          </option>
        </select>
      </label>
      <label>
        Per page
        <input name="size" value={String(params.size)} inputmode="numeric" maxlength={3} size={4} />
      </label>
      <button type="submit" class="primary">
        Apply
      </button>
      <a href={paths.to("/jobs", params.tab !== "all" ? { tab: params.tab } : undefined)}>Clear</a>
    </form>
  );
}

/** Purging old jobs and clearing one's own finished ones, for those who may. */
function Maintenance(props: { identity: Identity; paths: Paths; readOnly: boolean }) {
  const { identity, paths } = props;
  const purge = can(identity, "purge") && can(identity, "view_all");
  const clear = can(identity, "clear");
  if (props.readOnly || (!purge && !clear)) return <></>;
  return (
    <div class="panel">
      <h2>Housekeeping</h2>
      {purge && (
        <form method="post" action={paths.to("/purge")} class="toolbar">
          <label>
            Delete finished jobs (complete, failed, cancelled) that finished more than{" "}
            <input name="days" inputmode="numeric" value="30" size={4} maxlength={5} /> days ago
          </label>
          <button type="submit" class="danger">
            Purge
          </button>
        </form>
      )}
      {clear && (
        <form method="post" action={paths.to("/clear")} class="toolbar">
          <span>Delete your own finished jobs ({identity.user})</span>
          {can(identity, "view_all") && (
            <label>
              <input type="checkbox" name="cli" value="1" /> and the command line's (cli:…)
            </label>
          )}
          <button type="submit" class="danger">
            Clear inactive
          </button>
        </form>
      )}
    </div>
  );
}
