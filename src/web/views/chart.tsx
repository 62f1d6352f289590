import type { Overview } from "../../queue/overview.js";
import { formatSeconds } from "./format.js";

/**
 * The overview's charts, drawn by the server as inline SVG (no script, no library): complete
 * and failed jobs per hour over the last 24 hours, stacked, and each type's p50 / p95 duration
 * as bars. Heights and widths are SVG attributes, not styles (the CSP allows no inline style);
 * colours come from views.css through classes.
 */
const WIDTH = 720;
const HEIGHT = 200;
const LEFT = 36;
const BOTTOM = 22;
const TOP = 8;

/** A round upper bound for the axis: 1, 2, 5 × 10^n. */
function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((step) => step * power).find((bound) => bound >= value)!;
}

export function HourlyChart(props: { hours: Overview["hours"] }) {
  const hours = props.hours;
  const max = niceMax(Math.max(0, ...hours.map((h) => h.complete + h.failed)));
  const plotHeight = HEIGHT - BOTTOM - TOP;
  const slot = (WIDTH - LEFT) / Math.max(1, hours.length);
  const y = (value: number) => TOP + plotHeight - (value / max) * plotHeight;
  return (
    <svg class="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label="complete and failed jobs per hour, last 24 hours">
      <line class="axis" x1={LEFT} y1={TOP + plotHeight} x2={WIDTH} y2={TOP + plotHeight} />
      <line class="axis" x1={LEFT} y1={TOP} x2={WIDTH} y2={TOP} />
      <text x={LEFT - 4} y={TOP + 4} text-anchor="end">
        {max.toLocaleString("en-US")}
      </text>
      <text x={LEFT - 4} y={TOP + plotHeight} text-anchor="end">
        0
      </text>
      {hours.map((hour, index) => {
        const x = LEFT + index * slot + slot * 0.15;
        const width = slot * 0.7;
        const completeTop = y(hour.complete);
        const failedTop = y(hour.complete + hour.failed);
        return (
          <g>
            <title>{`${hour.hour}: ${hour.complete} complete, ${hour.failed} failed`}</title>
            {hour.complete > 0 && (
              <rect
                class="complete"
                x={x.toFixed(1)}
                y={completeTop.toFixed(1)}
                width={width.toFixed(1)}
                height={(TOP + plotHeight - completeTop).toFixed(1)}
              />
            )}
            {hour.failed > 0 && (
              <rect class="failed" x={x.toFixed(1)} y={failedTop.toFixed(1)} width={width.toFixed(1)} height={(completeTop - failedTop).toFixed(1)} />
            )}
            {index % 3 === 0 && (
              <text x={(x + width / 2).toFixed(1)} y={HEIGHT - 6} text-anchor="middle">
                {hour.hour.slice(11, 13)}h
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}

/** Each type's p50 and p95 durations as horizontal bars on one scale, the p50 over the p95. */
export function DurationChart(props: { durations: Overview["durations"] }) {
  const rows = props.durations;
  if (rows.length === 0) return <></>;
  const rowHeight = 22;
  const labelWidth = 170;
  const height = rows.length * rowHeight + 8;
  const max = niceMax(Math.max(...rows.map((row) => row.p95Seconds)));
  const scale = (seconds: number) => ((WIDTH - labelWidth - 80) * seconds) / max;
  return (
    <svg class="chart" viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-label="p50 and p95 duration per type, last 24 hours">
      {rows.map((row, index) => {
        const top = 4 + index * rowHeight;
        return (
          <g>
            <title>{`${row.type}: p50 ${formatSeconds(row.p50Seconds)}, p95 ${formatSeconds(row.p95Seconds)} over ${row.count} jobs`}</title>
            <text x={labelWidth - 6} y={top + 14} text-anchor="end">
              {row.type.length > 28 ? `${row.type.slice(0, 27)}…` : row.type}
            </text>
            <rect class="failed" x={labelWidth} y={top + 3} width={Math.max(1, scale(row.p95Seconds)).toFixed(1)} height={rowHeight - 8} opacity="0.35" />
            <rect class="complete" x={labelWidth} y={top + 3} width={Math.max(1, scale(row.p50Seconds)).toFixed(1)} height={rowHeight - 8} />
            <text x={(labelWidth + scale(row.p95Seconds) + 6).toFixed(1)} y={top + 14}>
              {formatSeconds(row.p95Seconds)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
