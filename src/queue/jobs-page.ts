/**
 * Everything the jobs page (src/web) asks of the database, in one import: its list, counts,
 * overview, change stamp and actions. The repairs it shares with the command line (retry,
 * cancel, boost, purge) and getJob/pollJob stay where they are (repair.ts, cleanup.ts, admin.ts).
 */
export { readChangeStamp } from "./change-stamp.js";
export { clearInactiveFor, deleteJobs, noteAction } from "./job-actions.js";
export { countMatchingJobs, exportedJobsByRef, exportMatchingJobs, matchingRefs, refsInScope, type MatchCount } from "./job-matches.js";
export { DATA_FIELD_SCAN_LIMIT, listJobPage, type JobPage, type JobSort, type PageRequest, type SortDirection } from "./job-page.js";
export type { JobQuery, JobScope } from "./job-query.js";
export { CLOSED_HOURS_SECONDS } from "./overview-chart.js";
export { DURATION_SAMPLE, readOverview, type Overview } from "./overview.js";
