import { noticeIn } from "../../client/job-info.js";
import type { Config } from "../../config/schema.js";
import { parseResult, type JobRow } from "../../queue/admin.js";
import { terminalText, visible } from "../../quote.js";
import type { Identity } from "../identity/identity.js";
import type { Paths } from "../paths.js";
import type { Redactor } from "../redact.js";
import { formatTime, safeHttpUrl } from "./format.js";
import { JobActionButtons } from "./job-actions.js";

export interface JobDetailsProps {
  job: JobRow;
  /** Due jobs ahead of it, for a due pending job. */
  position: number | null;
  identity: Identity;
  config: Config;
  paths: Paths;
  redactor: Redactor;
  readOnly: boolean;
  /** Whether the log is followed live (the job has not ended, or its process is still stopping it). */
  live: boolean;
}

/** The types whose complete result carries a file to download (result.url). */
const DOWNLOAD_TYPES = new Set(["create_download_file", "collection_download"]);

/** Columns shown in the list at the top, in this order; lock_token is left out (it only fences the holder's writes). */
const COLUMNS: Array<[keyof JobRow, string]> = [
  ["type", "type"],
  ["user", "user"],
  ["priority", "priority"],
  ["job_code", "code"],
  ["created_at", "created"],
  ["run_after", "run after"],
  ["started_at", "started"],
  ["finished_at", "finished"],
  ["locked_by", "held by"],
  ["lease_until", "lease until"],
  ["success_text", "success text"],
  ["failure_text", "failure text"],
];

/** Every column of one job, its notice, download, data, result and log (followed live while it runs). */
export function JobDetails(props: JobDetailsProps) {
  const { job, paths } = props;
  const result = parseResult(job.result);
  const notice = noticeIn(result);
  const download = job.status === "complete" && DOWNLOAD_TYPES.has(job.type) ? safeHttpUrl((result as { url?: unknown } | null)?.url) : undefined;
  const logLength = [...(job.log ?? "")].length;
  return (
    <section>
      <h1>
        Job {job.ref}{" "}
        <span class={`status status-${job.status}`} data-live="status">
          {job.status}
        </span>
      </h1>
      <JobActionButtons job={job} identity={props.identity} config={props.config} paths={paths} readOnly={props.readOnly} />
      {notice !== null && <p class="notice-box">{visible(notice)}</p>}
      {download && (
        <p class="ok-box">
          <a href={download} rel="noopener noreferrer nofollow">
            Download the file
          </a>
        </p>
      )}
      {job.error !== null && <p class="error-box">{visible(job.error)}</p>}
      <div class="panel">
        <dl class="columns">
          <dt>status</dt>
          <dd>
            {job.status}
            {job.status === "pending" && props.position !== null && (
              <span class="muted"> · {props.position === 0 ? "next to be claimed" : `${props.position} due job(s) ahead`}</span>
            )}
          </dd>
          <dt>attempts</dt>
          <dd>
            {job.attempts}
            {job.max_attempts !== null ? ` of ${job.max_attempts}` : ""}
          </dd>
          <dt>progress</dt>
          <dd>
            <progress max="100" value={job.progress ?? 0} data-live="progress">
              {job.progress ?? 0}%
            </progress>{" "}
            {job.progress !== null ? `${job.progress}%` : ""}
          </dd>
          {COLUMNS.filter(([column]) => job[column] !== null && job[column] !== "").map(([column, label]) => (
            <>
              <dt>{label}</dt>
              <dd>
                {column === "user" && props.identity.permissions.has("view_all") ? (
                  <a href={paths.to("/jobs", { user: job.user })}>{visible(String(job.user))}</a>
                ) : column.endsWith("_at") || column === "run_after" || column === "lease_until" ? (
                  formatTime(String(job[column]))
                ) : (
                  visible(String(job[column]))
                )}
              </dd>
            </>
          ))}
        </dl>
      </div>
      <h2>job_data</h2>
      <pre class="block data">{props.redactor.text(job.job_data)}</pre>
      {job.result !== null && (
        <>
          <h2>result</h2>
          <pre class="block data">{props.redactor.text(job.result)}</pre>
        </>
      )}
      <h2>log {props.live && <span class="muted">(live)</span>}</h2>
      <pre class="block" id="log" data-log-stream={props.live ? paths.to(`/job/${job.ref}/log`, { from: logLength }) : undefined}>
        {terminalText(job.log ?? "")}
      </pre>
    </section>
  );
}
