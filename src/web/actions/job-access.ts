import type { ExportedJob } from "../../queue/admin.js";
import type { Database } from "../../queue/db.js";
import { exportedJobsByRef } from "../../queue/jobs-page.js";
import type { JobScope } from "../../queue/job-query.js";

/**
 * The jobs of some refs that `scope` may see, with what the permission checks need (type,
 * user, status), by ref: one statement for a selection (at most a page, 200 refs), through the
 * export's columns (no job_data, no log). A ref missing from the map is no job, or not the
 * scope's.
 */
export async function jobsByRef(db: Database, scope: JobScope, refs: readonly number[]): Promise<Map<number, ExportedJob>> {
  return new Map((await exportedJobsByRef(db, scope, refs)).map((job) => [job.ref, job]));
}
