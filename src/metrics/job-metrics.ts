import { countsByType, STATUSES, type Stats } from "../queue/admin.js";
import type { RunCounts } from "./run-counts.js";
import type { MetricFamily } from "./prometheus.js";

/** What one run (or one iteration of `work`) did, for the textfile's last-run gauges. */
export interface RunMetrics {
  durationSeconds: number;
  /** Attempts by outcome (complete, failed, retried, …). */
  counts: RunCounts;
  /** When it ended (default: now). */
  endedAt?: Date;
}

/**
 * The queue as a whole (the same on every host): jobs by type and status, and the wait of the
 * oldest due job. Every status of a type is present, with 0 when there is none, so that a
 * series does not vanish when its last job leaves it (which would break rate() and alerts).
 */
export function queueFamilies(stats: Stats): MetricFamily[] {
  const byType = countsByType(stats);
  return [
    {
      name: "offline_jobs_jobs",
      help: "Jobs in the job table, by type and status.",
      type: "gauge",
      samples: [...byType].flatMap(([type, counts]) => STATUSES.map((status) => ({ labels: { type, status }, value: counts[status] }))),
    },
    {
      name: "offline_jobs_oldest_pending_seconds",
      help: "How long the oldest due pending job has waited, in seconds (0 when none is due).",
      type: "gauge",
      samples: [{ value: stats.oldestPendingSeconds ?? 0 }],
    },
  ];
}

/** This host's last run: gauges, since the file is rewritten by every run. */
export function runFamilies(run: RunMetrics): MetricFamily[] {
  return [
    {
      name: "offline_jobs_last_run_duration_seconds",
      help: "How long this host's last offline-jobs run took, in seconds.",
      type: "gauge",
      samples: [{ value: Math.round(run.durationSeconds * 1000) / 1000 }],
    },
    {
      name: "offline_jobs_last_run_jobs",
      help: "Job attempts this host's last offline-jobs run processed, by outcome.",
      type: "gauge",
      samples: Object.entries(run.counts).map(([outcome, value]) => ({ labels: { outcome }, value: Number(value) })),
    },
    {
      name: "offline_jobs_last_run_timestamp_seconds",
      help: "When this host's last offline-jobs run ended, as a Unix time (alert when it stops moving).",
      type: "gauge",
      samples: [{ value: Math.floor((run.endedAt ?? new Date()).getTime() / 1000) }],
    },
  ];
}
