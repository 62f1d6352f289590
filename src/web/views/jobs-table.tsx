import type { ListedJob } from "../../queue/admin.js";
import { visible } from "../../quote.js";
import type { Paths } from "../paths.js";
import { listSearch, type ListParams } from "../query/list-query.js";
import { formatSeconds, formatTime } from "./format.js";
import { noticeOf } from "../../client/job-info.js";

export interface JobsTableProps {
  jobs: ListedJob[];
  nextCursor: string | null;
  /** The cursor this page started after (undefined on the first page). */
  after: string | undefined;
  /** With a job_data filter: the page stopped after reading this many rows (more may match further on). */
  scanStopped?: { scanned: number };
  params: ListParams;
  paths: Paths;
  /** Rows get a checkbox (the user may take some action on jobs). */
  selectable: boolean;
}

/** Where a job stands, in a few words: its queue position, its progress, its error or notice. */
function Standing(props: { job: ListedJob }) {
  const { job } = props;
  switch (job.status) {
    case "pending":
      if (job.dueInSeconds !== null && job.dueInSeconds > 0) return <span class="muted">due in {formatSeconds(job.dueInSeconds)}</span>;
      if (job.position !== null) return <span>{job.position === 0 ? "next in the queue" : `#${(job.position + 1).toLocaleString("en-US")} in the queue`}</span>;
      return <span class="muted">waiting</span>;
    case "running":
      return (
        <span>
          <progress max="100" value={job.progress ?? 0}>
            {job.progress ?? 0}%
          </progress>{" "}
          {job.progress !== null ? `${job.progress}%` : ""}
        </span>
      );
    case "failed":
    case "cancelled":
      return <span class="clip">{visible(job.error ?? "")}</span>;
    case "complete":
      return <span class="clip">{visible(noticeOf(job.result) ?? "")}</span>;
  }
}

/** The table of one page of jobs, and the links to the next page. Its container refreshes it (jobs-page.tsx). */
export function JobsTable(props: JobsTableProps) {
  const { paths, params } = props;
  if (props.jobs.length === 0) {
    return (
      <p class="panel muted">
        {props.scanStopped
          ? `No job in the ${props.scanStopped.scanned.toLocaleString("en-US")} rows read so far matches the job_data filter.`
          : "No job matches."}
        {props.nextCursor && (
          <>
            {" "}
            <a href={paths.to("/jobs", listSearch(params, { after: props.nextCursor }))}>Read further</a>
          </>
        )}
      </p>
    );
  }
  return (
    <>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              {props.selectable && (
                <th>
                  <input type="checkbox" data-select-all aria-label="select every job on this page" />
                </th>
              )}
              <th class="num">ref</th>
              <th>type</th>
              <th>status</th>
              <th>user</th>
              <th>created</th>
              <th class="num">priority</th>
              <th class="num">attempts</th>
              <th>host</th>
              <th>standing</th>
            </tr>
          </thead>
          <tbody>
            {props.jobs.map((job) => (
              <tr>
                {props.selectable && (
                  <td>
                    <input type="checkbox" name="ref" value={String(job.ref)} aria-label={`select job ${job.ref}`} />
                  </td>
                )}
                <td class="num">
                  <a href={paths.to(`/job/${job.ref}`)}>{job.ref}</a>
                </td>
                <td class="clip">{visible(job.type)}</td>
                <td>
                  <span class={`status status-${job.status}`}>{job.status}</span>
                </td>
                <td class="clip">{visible(job.user ?? "")}</td>
                <td class="mono">{formatTime(job.created_at)}</td>
                <td class="num">{job.priority}</td>
                <td class="num">
                  {job.attempts}
                  {job.max_attempts !== null ? `/${job.max_attempts}` : ""}
                </td>
                <td class="clip">{visible(job.locked_by ?? "")}</td>
                <td>
                  <Standing job={job} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="pager">
        <span>{props.after !== undefined && <a href={paths.to("/jobs", listSearch(params))}>← First page</a>}</span>
        <span>
          {props.nextCursor && (
            <a class="button" href={paths.to("/jobs", listSearch(params, { after: props.nextCursor }))}>
              Next page →
            </a>
          )}
        </span>
      </div>
    </>
  );
}
