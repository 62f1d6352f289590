/**
 * What one run (or one worker's runs) did with the attempts it made: the counts the run's
 * summary line, the worker's exit line and the metrics textfile report. Here, below both the
 * runner that counts them and the metrics that export them.
 */
export interface RunCounts {
  complete: number;
  failed: number;
  retried: number;
  cancelled: number;
  lost: number;
  /** Interrupted by a stop after the grace period and put back to pending. */
  released: number;
}

export function emptyCounts(): RunCounts {
  return { complete: 0, failed: 0, retried: 0, cancelled: 0, lost: 0, released: 0 };
}
