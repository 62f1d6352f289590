import type { Hono } from "hono";
import { stream } from "hono/streaming";
import { EXPORT_HEADER, exportCells } from "../../client/job-info.js";
import { csvRecord } from "../../csv.js";
import { exportMatchingJobs } from "../../queue/job-matches.js";
import { forbidden } from "../http-problem.js";
import { can, scopeOf } from "../permissions.js";
import { readListRequest } from "../query/list-query.js";
import type { Redactor } from "../redact.js";
import type { AppEnv, Site } from "../site.js";

/**
 * The current filter as CSV, with `export --csv`'s columns (AtoM's, then ref), oldest first,
 * streamed a page of rows at a time: memory holds one page whatever the table's size, and a
 * browser that stops reading stops the reading from the database.
 */
export function exportRoute(app: Hono<AppEnv>, site: Site, redactor: Redactor, onError: (error: unknown) => void): void {
  app.get(site.paths.to("/export.csv"), (c) => {
    const identity = c.get("identity");
    if (!can(identity, "export")) throw forbidden("exporting jobs needs the permission export");
    const request = readListRequest(c.req, identity, redactor);
    const day = new Date(site.now()).toISOString().slice(0, 10);
    c.header("Content-Type", "text/csv; charset=utf-8");
    c.header("Content-Disposition", `attachment; filename="jobs-${day}.csv"`);
    return stream(
      c,
      async (out) => {
        await out.write(csvRecord(EXPORT_HEADER));
        for await (const page of exportMatchingJobs(site.db, scopeOf(identity), request.query)) {
          if (out.aborted) return;
          await out.write(page.map((job) => csvRecord(exportCells(job))).join(""));
        }
      },
      async (error) => onError(error),
    );
  });
}
