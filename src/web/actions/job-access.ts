import type { ExportedJob } from "../../queue/admin.js";
import type { Database } from "../../queue/db.js";
import { exportMatchingJobs } from "../../queue/job-matches.js";
import type { JobScope } from "../../queue/job-query.js";

/**
 * The jobs of some refs that `scope` may see, with what the permission checks need (type,
 * user, status), by ref. One primary-key lookup per ref, through the export's query (which
 * reads no job_data and no log); a selection is at most a page (200 refs).
 */
export async function jobsByRef(db: Database, scope: JobScope, refs: readonly number[]): Promise<Map<number, ExportedJob>> {
  const found = new Map<number, ExportedJob>();
  for (const ref of new Set(refs)) {
    for await (const page of exportMatchingJobs(db, scope, { ref })) for (const job of page) found.set(job.ref, job);
  }
  return found;
}
