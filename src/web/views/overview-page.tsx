import { STATUSES, type JobStatus } from "../../queue/admin.js";
import type { Overview } from "../../queue/overview.js";
import { visible } from "../../quote.js";
import type { Paths } from "../paths.js";
import type { Drawn } from "../refresh.js";
import { DurationChart, HourlyChart } from "./chart.js";
import { formatCount, formatSeconds } from "./format.js";

/** The overview refreshes itself this often while visible: its few queries every 10 s keep an idle page well under one a second. */
export const OVERVIEW_REFRESH_SECONDS = 10;

/** The overview: a heading, and the panel that refreshes itself. */
export function OverviewPage(props: { overview: Overview; countCap: number; paths: Paths; ownOnly: boolean; drawn: Drawn }) {
  return (
    <section>
      <h1>Overview{props.ownOnly ? " of your jobs" : ""}</h1>
      <OverviewFrame {...props} />
    </section>
  );
}

/** The panel in its self-refreshing frame, whose URL carries the change stamp it was drawn at (refresh.ts). */
export function OverviewFrame(props: { overview: Overview; countCap: number; paths: Paths; drawn: Drawn }) {
  return (
    <div
      id="overview"
      data-auto-refresh
      hx-get={props.paths.to("/overview", { stamp: props.drawn.stamp, at: props.drawn.at })}
      hx-trigger={`every ${OVERVIEW_REFRESH_SECONDS}s, refresh-now`}
      hx-swap="outerHTML"
    >
      <OverviewPanel {...props} />
    </div>
  );
}

/** Counts by type × status, the oldest due job's wait, jobs stuck running, the last day's chart and durations. */
export function OverviewPanel(props: { overview: Overview; countCap: number; paths: Paths }) {
  const { overview, paths } = props;
  const types = [...new Set(overview.counts.map((c) => c.type))].sort();
  const cell = (type: string, status: JobStatus) => overview.counts.find((c) => c.type === type && c.status === status);
  const finished = overview.hours.reduce((sum, h) => sum + h.complete + h.failed, 0);
  const failed = overview.hours.reduce((sum, h) => sum + h.failed, 0);
  return (
    <>
      <div class="cards">
        <div class="card">
          <div class="value">{overview.oldestDueWaitSeconds === null ? "—" : formatSeconds(overview.oldestDueWaitSeconds)}</div>
          <div class="label">oldest due job's wait</div>
        </div>
        <div class={`card${overview.stuckRunning > 0 ? " warn" : ""}`}>
          <div class="value">{formatCount(overview.stuckRunning)}</div>
          <div class="label">
            <a href={paths.to("/jobs", { tab: "running" })}>running past their lease</a>
          </div>
        </div>
        <div class="card">
          <div class="value">{formatCount(finished)}</div>
          <div class="label">finished in the last 24 hours</div>
        </div>
        <div class={`card${failed > 0 ? " warn" : ""}`}>
          <div class="value">{formatCount(failed)}</div>
          <div class="label">
            <a href={paths.to("/jobs", { tab: "failed" })}>failed in the last 24 hours</a>
          </div>
        </div>
      </div>
      <div class="panel">
        <h2>Jobs by type and status</h2>
        {types.length === 0 ? (
          <p class="muted">No jobs.</p>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>type</th>
                  {STATUSES.map((status) => (
                    <th class="num">
                      <a href={paths.to("/jobs", { tab: status })}>{status}</a>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {types.map((type) => (
                  <tr>
                    <td>
                      <a href={paths.to("/jobs", { type })}>{visible(type)}</a>
                    </td>
                    {STATUSES.map((status) => {
                      const found = cell(type, status);
                      return (
                        <td class="num">
                          {found ? (
                            <a href={paths.to("/jobs", { type, tab: status })}>{formatCount(found.count, found.capped)}</a>
                          ) : (
                            <span class="muted">0</span>
                          )}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <p class="muted">Counts stop at {formatCount(props.countCap)} ("+" after one means more).</p>
      </div>
      <div class="panel">
        <h2>Finished per hour, last 24 hours</h2>
        <div class="legend">
          <span>
            <span class="swatch complete"></span>complete
          </span>
          <span>
            <span class="swatch failed"></span>failed
          </span>
        </div>
        <HourlyChart hours={overview.hours} />
      </div>
      <div class="panel">
        <h2>Durations, last 24 hours</h2>
        {overview.durations.length === 0 ? (
          <p class="muted">No job finished in the last 24 hours.</p>
        ) : (
          <>
            <DurationChart durations={overview.durations} />
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>type</th>
                    <th class="num">jobs</th>
                    <th class="num">p50</th>
                    <th class="num">p95</th>
                  </tr>
                </thead>
                <tbody>
                  {overview.durations.map((row) => (
                    <tr>
                      <td>{visible(row.type)}</td>
                      <td class="num">{formatCount(row.count)}</td>
                      <td class="num">{formatSeconds(row.p50Seconds)}</td>
                      <td class="num">{formatSeconds(row.p95Seconds)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </div>
    </>
  );
}
