import { performance } from "node:perf_hooks";
import { useSubprocessLimits } from "../../job/child-sandbox.js";
import type { Config } from "../../config/schema.js";
import { PermanentError, TransientError } from "../../errors.js";
import type { JobContext } from "../../job/handler.js";
import type { ClaimedJob } from "../../queue/claimed-job.js";
import type { Outcome } from "../../queue/finish.js";
import type { AttemptEnd } from "../attempt-end.js";
import type { RunnerDeps } from "../runner-deps.js";
import { writeTextSink } from "../../queue/text-sink.js";
import { shorten, visible } from "../../quote.js";
import { parseJobData } from "./job-data.js";
import { backoffSeconds } from "./backoff.js";
import type { JobLog } from "../../job/job-log.js";
import { renderNotice } from "./notice.js";
import { openInside, pinInside, unpin } from "../../job/open-source.js";
import type { OutcomeBounds } from "./outcome-bounds.js";
import { resolveDeletable, resolveInside } from "../../job/path-guard.js";
import type { StopSwitch } from "./stop-switch.js";
import { JobStopped } from "./job-stopped.js";
import { runSubprocess } from "../../job/subprocess.js";

/** Room for a handler to kill its subprocesses and report its own timeout first. */
const OWN_TIMEOUT_MARGIN_SECONDS = 10;

/**
 * Runs one claimed attempt: parses and validates job_data (a permanent failure if either is
 * wrong), runs the handler under the type's timeout with an AbortSignal, and turns whatever
 * happened into an outcome: complete, failed, or back to pending after a backoff.
 */
export async function executeJob(
  job: ClaimedJob,
  deps: RunnerDeps,
  /** How large a result the database takes. */
  bounds: OutcomeBounds,
  /**
   * `stopSwitch`: the attempt's own switch; the runner throws it (cancel, lost lease, stop), and
   * so does the timeout. `log`: the attempt's log, which the runner's LogFlusher writes live.
   * `onSpawn`: each subprocess's pid, as it starts (the runner records its process group).
   */
  control: { stopSwitch: StopSwitch; progress(percent: number): void; log: JobLog; onSpawn?(pid: number): void },
): Promise<AttemptEnd> {
  const started = performance.now();
  const settings = deps.registry.settings(job.type);
  const maxAttempts = job.maxAttempts ?? settings.maxAttempts;
  const { log, stopSwitch } = control;
  log.line("info", `attempt ${job.attempt} of ${maxAttempts} on ${deps.workerId}`);
  let timer: NodeJS.Timeout | undefined;
  const durationMs = () => Math.round(performance.now() - started);
  try {
    // Built-in modules load when their first job runs (registry.ts).
    const handler = deps.registry.get(job.type) ?? (await deps.registry.load(job.type));
    if (!handler) throw new PermanentError(`no handler for type ${job.type}`);
    const data = parseJobData(job, handler.schema);
    const own = handler.jobTimeoutSeconds?.(data, deps.config);
    const limit = own === undefined ? settings.timeoutSeconds : own + OWN_TIMEOUT_MARGIN_SECONDS;
    timer = setTimeout(() => stopSwitch.stop(new TransientError(`timed out after ${limit} s`)), limit * 1000);
    const context = makeContext(job, deps, { log, stopSwitch, progress: control.progress, onSpawn: control.onSpawn }, maxAttempts);
    const running = Promise.resolve().then(() => handler.run(context, data));
    running.catch(() => undefined); // it may reject after we stopped waiting for it
    const result = await Promise.race([running, stopSwitch.whenStopped()]);
    const body = result && typeof result === "object" && !Array.isArray(result) ? { ...result } : {};
    body.notice = renderNotice(job.successText, { ref: job.ref, type: job.type, user: job.user, url: body.url }, false);
    const recorded = JSON.stringify(body);
    // Re-running would make the same result: a permanent failure, the others' writes untouched.
    const tooLarge = bounds.resultProblem(recorded);
    if (tooLarge) throw new PermanentError(tooLarge);
    log.line("info", `complete in ${durationMs()} ms`);
    return { kind: "outcome", durationMs: durationMs(), outcome: { kind: "complete", ref: job.ref, token: job.token, result: recorded, log: log.take() } };
  } catch (error) {
    if (error instanceof JobStopped && error.why === "cancelled") {
      log.line("warn", `stopped: ${error.message}`);
      return { kind: "cancelled", log: log.take(), durationMs: durationMs() };
    }
    if (error instanceof JobStopped && error.why === "lost") return { kind: "lost", detail: error.message, durationMs: durationMs() };
    if (error instanceof JobStopped && error.why === "shutdown") {
      log.line("warn", `interrupted: ${error.message}; back to pending`);
      return { kind: "released", detail: error.message, log: log.take(), durationMs: durationMs() };
    }
    return { kind: "outcome", durationMs: durationMs(), outcome: failureOutcome(job, error, maxAttempts, settings.backoff, log, bounds) };
  } finally {
    clearTimeout(timer);
  }
}

function failureOutcome(
  job: ClaimedJob,
  error: unknown,
  maxAttempts: number,
  backoff: { initialSeconds: number; maxSeconds: number },
  log: JobLog,
  bounds: OutcomeBounds,
): Outcome {
  const message = oneLine(error) || "the handler failed without a message";
  const permanent = error instanceof PermanentError;
  if (!permanent && !(error instanceof TransientError) && !(error instanceof JobStopped) && error instanceof Error && error.stack) {
    log.line("error", error.stack); // an unexpected error: keep the stack for whoever debugs it
  }
  if (!permanent && job.attempt < maxAttempts) {
    const delaySeconds = backoffSeconds(job.attempt, backoff);
    log.line("warn", `attempt ${job.attempt} failed: ${message}; retrying in ${delaySeconds} s`);
    return { kind: "retry", ref: job.ref, token: job.token, error: message, log: log.take(), delaySeconds };
  }
  const final = permanent || maxAttempts <= 1 ? message : `${message} (gave up after ${job.attempt} attempts)`;
  log.line("error", `failed: ${final}`);
  const partial = (error as { result?: unknown })?.result;
  const body = partial && typeof partial === "object" ? { ...(partial as object) } : {};
  const notice = renderNotice(job.failureText, { ref: job.ref, type: job.type, user: job.user, error: final }, true);
  let result = JSON.stringify({ ...body, notice });
  const tooLarge = bounds.resultProblem(result);
  if (tooLarge) {
    log.line("warn", `the partial result was not kept: ${tooLarge}`);
    result = JSON.stringify({ notice });
  }
  return { kind: "failed", ref: job.ref, token: job.token, error: final, result, log: log.take() };
}

/** ctx.paths depends on the config only: made once per config, not per job. */
const guardsByConfig = new WeakMap<Config, JobContext["paths"]>();

function pathGuards(config: Config): JobContext["paths"] {
  let guards = guardsByConfig.get(config);
  if (!guards) {
    const { paths } = config;
    guards = {
      readable: (p) => resolveInside(p, paths.readRoots, "source"),
      writable: (p) => resolveInside(p, paths.writeRoots, "output"),
      open: (resolved) => openInside(resolved, paths.readRoots),
      withSource: async (resolved, use) => {
        const pinned = await pinInside(resolved, paths.readRoots);
        try {
          return await use(pinned.path);
        } catch (error) {
          throw unpin(error, pinned, resolved);
        } finally {
          await pinned.close();
        }
      },
      deletable: (p) => resolveDeletable(p, paths.writeRoots),
    };
    guardsByConfig.set(config, guards);
  }
  return guards;
}

function makeContext(
  job: ClaimedJob,
  deps: RunnerDeps,
  control: { log: JobLog; stopSwitch: StopSwitch; progress(percent: number): void; onSpawn?(pid: number): void },
  maxAttempts: number,
): JobContext {
  const { log, stopSwitch, progress, onSpawn } = control;
  const sink = deps.config.extractText.sink?.sql;
  // For the ffmpeg and ffprobe that media functions spawn without seeing the config.
  useSubprocessLimits(deps.config.subprocesses);
  return {
    ref: job.ref,
    type: job.type,
    user: job.user,
    attempt: job.attempt,
    maxAttempts,
    // A getter: the AbortSignal is made only for a handler that looks at it (see StopSwitch).
    get signal() {
      return stopSwitch.signal;
    },
    log,
    progress: (percent) => progress(Math.max(0, Math.min(100, Math.round(percent)))),
    config: deps.config,
    paths: pathGuards(deps.config),
    exec: (argv, options = {}) => runSubprocess(argv, { ...options, signal: stopSwitch.signal, log, onSpawn }),
    writeTextSink: sink ? (values) => writeTextSink(deps.db, sink, { ...values, ref: job.ref }) : undefined,
  };
}

/**
 * The error column holds one clear sentence, bounded (start and end kept), with control and
 * bidi characters escaped. A foreign error keeps its first line (the rest is detail, or a
 * trace); the runner's own errors are one sentence already, so a line break in one comes from
 * a value it quotes (a file name), and is shown escaped rather than cut off there.
 */
function oneLine(error: unknown): string {
  // The raw message: a blank one gets the caller's sentence, not errorMessage's generic one.
  const text = (error instanceof Error ? error.message : String(error)).trim();
  const own = error instanceof PermanentError || error instanceof TransientError || error instanceof JobStopped;
  const sentence = own ? text : (text.split("\n").find((line) => line.trim() !== "") ?? "").trim();
  return visible(shorten(sentence, 400));
}
