import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { getJob, pollJob, queuePosition } from "../../queue/admin.js";
import { sleep } from "../../queue/db.js";
import { refsInScope } from "../../queue/job-matches.js";
import { LogTail } from "../../log-tail.js";
import { terminalText } from "../../quote.js";
import { badRequest, forbidden, notFound } from "../http-problem.js";
import { can, scopeOf } from "../permissions.js";
import type { Redactor } from "../redact.js";
import { renderPage } from "../render.js";
import type { AppEnv, Site, WebContext } from "../site.js";
import { JobDetails } from "../views/job-details.js";

/** How often a live log reads the job: one query a second per open page, the page's whole cost while it is open. */
const POLL_MS = 1000;
/** A live log's connection ends after this; the browser reconnects at once (Last-Event-ID) and the stream goes on where it was. */
const STREAM_MS = 5 * 60_000;
/** A cancelled job's process writes its last log shortly after the status changes; the stream waits this long for it. */
const CANCEL_GRACE_MS = 10_000;

/** A job's ref from the path: digits only, and one a number holds exactly. */
export function parseRef(text: string | undefined): number {
  if (!text || !/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < 1) throw badRequest("a job's ref is a whole number from 1");
  return Number(text);
}

/** Another user's job, for a user without view_all: refused, as every query of theirs would. */
function checkOwner(c: WebContext, job: { ref: number; user: string | null }): void {
  const identity = c.get("identity");
  if (!can(identity, "view_all") && job.user !== identity.user) throw forbidden(`job ${job.ref} is not yours`);
}

export function jobRoutes(app: Hono<AppEnv>, site: Site, redactor: Redactor): void {
  app.get(site.paths.to("/job/:ref"), async (c) => {
    const ref = parseRef(c.req.param("ref"));
    const job = await getJob(site.db, ref);
    if (!job) throw notFound(`job ${ref} does not exist (it may have been deleted)`);
    checkOwner(c, job);
    const position = job.status === "pending" ? await queuePosition(site.db, ref) : null;
    const live = job.status === "pending" || job.status === "running" || (job.status === "cancelled" && job.lease_until !== null);
    return renderPage(
      c,
      site,
      `Job ${ref}`,
      "jobs",
      JobDetails({ job, position, identity: c.get("identity"), config: site.config, paths: site.paths, redactor, readOnly: site.readOnly, live }),
    );
  });

  /**
   * The log as Server-Sent Events: "log" events carry new text (their id is the number of
   * characters sent so far, so a reconnecting browser's Last-Event-ID resumes exactly there),
   * "state" events the status and progress when they change, and "end" once the job has ended
   * and its process has let it go.
   */
  app.get(site.paths.to("/job/:ref/log"), async (c) => {
    const ref = parseRef(c.req.param("ref"));
    const resume = c.req.header("last-event-id") ?? c.req.query("from") ?? "0";
    if (!/^\d{1,12}$/.test(resume)) throw badRequest("the log offset is a whole number of characters");
    // One look before the stream starts, so that a missing job is a 404 and another's a 403, not an empty stream.
    if (!(await pollJob(site.db, ref, 1 + Number(resume)))) throw notFound(`job ${ref} does not exist (it may have been deleted)`);
    const identity = c.get("identity");
    if (!can(identity, "view_all") && (await refsInScope(site.db, scopeOf(identity), [ref])).length === 0) throw forbidden(`job ${ref} is not yours`);
    return streamSSE(c, async (stream) => {
      const tail = new LogTail(Number(resume));
      const started = Date.now();
      let lastState = "";
      let cancelledAt: number | undefined;
      let aborted = false;
      stream.onAbort(() => {
        aborted = true;
      });
      while (!aborted && Date.now() - started < STREAM_MS) {
        let state = await pollJob(site.db, ref, tail.readFrom);
        if (!state) break;
        let fresh = tail.next(state.log_length, state.log_from);
        if (fresh === undefined) {
          state = (await pollJob(site.db, ref, 1)) ?? state;
          fresh = tail.resync(state.log_length, state.log_from);
        }
        if (fresh) await stream.writeSSE({ event: "log", data: terminalText(fresh), id: String(tail.shown) });
        const summary = JSON.stringify({ status: state.status, progress: state.progress, attempts: state.attempts });
        if (summary !== lastState) {
          await stream.writeSSE({ event: "state", data: summary });
          lastState = summary;
        }
        const ended = state.status === "complete" || state.status === "failed" || state.status === "cancelled";
        if (ended && state.status === "cancelled" && !state.released) cancelledAt ??= Date.now();
        if (ended && (state.released || Date.now() - cancelledAt! > CANCEL_GRACE_MS)) {
          await stream.writeSSE({ event: "end", data: state.status });
          return;
        }
        await sleep(POLL_MS);
      }
    });
  });
}
