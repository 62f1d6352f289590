import type { Skipped } from "../../queue/repair.js";
import { visible } from "../../quote.js";
import type { ActionOutcome } from "../actions/apply-action.js";
import type { Paths } from "../paths.js";
import type { JobAction } from "../permissions.js";
import { formatCount } from "./format.js";

const VERBS: Record<JobAction, string> = { cancel: "Cancel", retry: "Retry", boost: "Boost", delete: "Delete" };

/** A list of refs, the first 50 as links. */
function Refs(props: { refs: number[]; paths: Paths }) {
  const shown = props.refs.slice(0, 50);
  return (
    <>
      {shown.map((ref, index) => (
        <>
          {index > 0 && ", "}
          <a href={props.paths.to(`/job/${ref}`)}>{ref}</a>
        </>
      ))}
      {props.refs.length > shown.length && ` and ${formatCount(props.refs.length - shown.length)} more`}
    </>
  );
}

/** What an action did, ref by ref, and a way back. */
export function ActionResult(props: {
  action: JobAction;
  outcome: ActionOutcome;
  /** Jobs the user may not act on, left out of an "everything matching" action: how many, for each reason. */
  refused?: Map<string, number>;
  /** The action stopped at its bound before the end of the matching jobs. */
  stoppedEarly?: string;
  back: string;
  paths: Paths;
}) {
  const { outcome, paths } = props;
  const past = { cancel: "Cancelled", retry: "Retried", boost: "Boosted", delete: "Deleted" }[props.action];
  return (
    <section>
      <h1>{VERBS[props.action]}</h1>
      {outcome.done.length > 0 && (
        <p class="ok-box">
          {past} {outcome.done.length === 1 ? "job" : `${formatCount(outcome.done.length)} jobs`}: <Refs refs={outcome.done} paths={paths} />
        </p>
      )}
      {outcome.stopping.length > 0 && (
        <p class="notice-box">
          Asked to stop (running; their processes stop them within a few seconds): <Refs refs={outcome.stopping} paths={paths} />
        </p>
      )}
      {outcome.unchanged.length > 0 && (
        <p class="muted">
          Already cancelled: <Refs refs={outcome.unchanged} paths={paths} />
        </p>
      )}
      {outcome.done.length + outcome.stopping.length + outcome.unchanged.length === 0 && outcome.skipped.length === 0 && (
        <p class="muted">No job was changed.</p>
      )}
      {outcome.skipped.length > 0 && <SkippedList skipped={outcome.skipped} paths={paths} />}
      {props.refused && props.refused.size > 0 && (
        <div class="error-box">
          Left alone, as you may not act on them:
          <ul>
            {[...props.refused].map(([reason, count]) => (
              <li>
                {formatCount(count)} × {reason}
              </li>
            ))}
          </ul>
        </div>
      )}
      {props.stoppedEarly && <p class="notice-box">{props.stoppedEarly}</p>}
      <p>
        <a class="button" href={props.back}>
          Back
        </a>
      </p>
    </section>
  );
}

function SkippedList(props: { skipped: Skipped[]; paths: Paths }) {
  return (
    <div class="panel">
      Left alone:
      <ul>
        {props.skipped.slice(0, 50).map((skip) => (
          <li>
            <a href={props.paths.to(`/job/${skip.ref}`)}>job {skip.ref}</a>: {visible(skip.reason)}
          </li>
        ))}
      </ul>
      {props.skipped.length > 50 && <p class="muted">and {formatCount(props.skipped.length - 50)} more</p>}
    </div>
  );
}

/** "Cancel 1,234 jobs?" before an action on everything matching the filter; the form repeats the filter. */
export function ConfirmAction(props: {
  action: JobAction;
  count: { count: number; capped: boolean; partial: boolean };
  filter: URLSearchParams;
  back: string;
  paths: Paths;
  limit: number;
}) {
  const { count } = props;
  const n = formatCount(count.count, count.capped || count.partial);
  return (
    <section class="panel">
      <h1>{VERBS[props.action]} every matching job?</h1>
      {count.count === 0 ? (
        <p>No job matches the filter.</p>
      ) : (
        <>
          <p>
            {n} job{count.count === 1 && !count.capped ? "" : "s"} match the filter. Jobs you may not {props.action} and jobs where it does not apply are left
            alone
            {count.capped || count.count > props.limit ? `; at most ${formatCount(props.limit)} are handled at a time` : ""}.
          </p>
          <form method="post" action={props.paths.to("/actions/all")} class="toolbar">
            <input type="hidden" name="action" value={props.action} />
            <input type="hidden" name="back" value={props.back} />
            {[...props.filter].map(([name, value]) => (
              <input type="hidden" name={name} value={value} />
            ))}
            <button type="submit" class={props.action === "delete" || props.action === "cancel" ? "danger" : "primary"}>
              {VERBS[props.action]} {n} job{count.count === 1 && !count.capped ? "" : "s"}
            </button>
            <a href={props.back}>No, go back</a>
          </form>
        </>
      )}
    </section>
  );
}

/** A housekeeping action's result: how many jobs it deleted. */
export function DeletedCount(props: { title: string; deleted: number; what: string; back: string }) {
  return (
    <section>
      <h1>{props.title}</h1>
      <p class="ok-box">
        Deleted {formatCount(props.deleted)} {props.what}.
      </p>
      <p>
        <a class="button" href={props.back}>
          Back
        </a>
      </p>
    </section>
  );
}
