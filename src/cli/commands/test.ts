import { Command } from "commander";
import { z } from "zod";
import { JobFailedExit, WaitTimedOutExit } from "../../errors.js";
import { enqueueJobs, type NewJob } from "../../queue/enqueue.js";
import { waitForJobs, type JobEnd } from "../../queue/wait.js";
import { runJobs } from "../../runner/process/run.js";
import { commandLineUser } from "../cli-user.js";
import { parseOptions, withContext, type GlobalOptions } from "../context.js";

const optionsSchema = z.object({
  timeout: z
    .string()
    .regex(/^\d+(\.\d+)?$/, "must be a number of seconds")
    .transform(Number)
    .pipe(z.number().positive("must be more than 0"))
    .default(60),
  run: z.boolean().optional(),
});

/** The two jobs, as PKP's `jobs.php test` queues them: one bound to succeed, one bound to fail. */
const PROBES = [
  { label: "bound to succeed", data: {}, expect: "complete" },
  { label: "bound to fail", data: { fail: "permanent" }, expect: "failed" },
] as const;

const EXAMPLES = `
Both jobs are noop jobs with priority 0 (they run before anything already waiting) and the
user cli:<your account name>. Afterwards they stay in the table like any other job (the
failed one under list --status failed) until retention or purge removes them.

Exit codes: 0 both ended as expected; 1 either did not; 124 no worker ran them in time
(they stay queued and run when one comes).

Examples:
  offline-jobs test                  is a worker (cron, the systemd timer, work) running them?
  offline-jobs test --timeout 120    allow for a worker that is busy with long jobs
  offline-jobs test --run            run them here, now: checks this host's config and database`;

export function testCommand(): Command {
  return new Command("test")
    .description("queue a job bound to succeed and one bound to fail, wait for a worker to run them, and report both")
    .option("--timeout <seconds>", "how long to wait for a worker (default 60)")
    .option("--run", "run the two jobs in this process instead of waiting for a worker")
    .addHelpText("after", EXAMPLES)
    .action(async (_raw, command: Command) => {
      const options = parseOptions(optionsSchema, command.opts());
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ config, db, registry, logger }) => {
        const user = commandLineUser();
        const jobs: NewJob[] = PROBES.map((probe) => ({
          type: "noop",
          data: probe.data,
          user,
          priority: 0,
          maxAttempts: 1,
          successText: `offline-jobs test: job {ref}, ${probe.label}, completed`,
          failureText: `offline-jobs test: job {ref}, ${probe.label}, failed: {error}`,
        }));
        const refs = (await enqueueJobs(db, jobs)).map((added) => added.ref);
        const started = Date.now();
        if (options.run) {
          for (const ref of refs) {
            // As `run --job`: the slots of this host apply. A job another process claimed
            // first is simply waited for below.
            const report = await runJobs({ config, db, registry, logger }, { maxJobs: config.maxJobs, job: ref });
            if (report.job?.status === "not-run") logger.warn(`job ${ref} was not run here (${report.job.error}); waiting for it`);
          }
        } else {
          logger.info(`queued test jobs ${refs.join(" and ")}; waiting up to ${options.timeout} s for a worker to run them`);
        }
        const { ended, unfinished } = await waitForJobs(db, refs, { timeoutMs: options.timeout * 1000 });
        const byRef = new Map(ended.map((end) => [end.ref, end]));
        let unexpected = 0;
        for (const [i, probe] of PROBES.entries()) {
          const ref = refs[i]!;
          const end = byRef.get(ref);
          const line = describe(ref, probe, end);
          if (end && end.status !== probe.expect) unexpected++;
          process.stdout.write(`${!end ? "wait" : end.status === probe.expect ? "ok  " : "FAIL"}  ${line}\n`);
        }
        if (!unexpected && !unfinished.length) logger.info(`test passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        if (unexpected) throw new JobFailedExit();
        if (unfinished.length) {
          logger.error(
            `no worker ran job(s) ${unfinished.join(", ")} within ${options.timeout} s: is cron, the systemd timer or offline-jobs work running here or on another host? They stay queued; offline-jobs test --run runs the test in this process`,
          );
          throw new WaitTimedOutExit();
        }
      });
    });
}

function describe(ref: number, probe: (typeof PROBES)[number], end: JobEnd | undefined): string {
  const what = `job ${ref} (noop, ${probe.label})`;
  if (!end) return `${what}: has not ended; no worker has finished it`;
  const by = end.ranBy ? ` (run by ${end.ranBy})` : "";
  const outcome = `${end.status}${end.status === "complete" ? "" : `: ${end.error || "no error recorded"}`}`;
  return `${what}: ${outcome}${by}${end.status === probe.expect ? ", as expected" : `; expected ${probe.expect}`}`;
}
