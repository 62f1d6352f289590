import { Command } from "commander";
import { z } from "zod";
import { GracefulStop, stopOnSignals } from "../../runner/process/graceful-stop.js";
import { afterRun, RunTally } from "../../runner/process/after-run.js";
import { runWorker } from "../../runner/process/worker.js";
import { collect, parseOptions, positiveIntString, statusLineFor, withContext, type GlobalOptions } from "../context.js";
import { RunProgress } from "../run-progress.js";
import { describeCounts } from "../run-summary.js";
import { secondsString } from "./run.js";

const optionsSchema = z.object({
  maxJobs: positiveIntString.optional(),
  sleep: secondsString.default(3),
  maxTime: secondsString.optional(),
  memory: positiveIntString.optional(),
  stopWhenEmpty: z.boolean().optional(),
  grace: secondsString.default(30),
  type: z.array(z.string()).optional(),
  force: z.boolean().optional(),
});

const EXAMPLES = `
Examples:
  offline-jobs work                          wait for jobs and run them until stopped (systemd, Supervisor)
  offline-jobs work --max-jobs 4 --sleep 5   4 at once; look for new jobs every 5 s when idle
  offline-jobs work --memory 512 --max-time 3600
                                             exit 0 (to be restarted) past 512 MB or after an hour
  offline-jobs work --stop-when-empty        exit once nothing is due
  offline-jobs restart                       ask every worker, on every host, to exit after its current jobs

On SIGTERM or SIGINT a worker claims nothing more, lets running jobs finish for --grace
seconds, then puts the rest back to pending; a second signal does that at once.`;

export function workCommand(): Command {
  return new Command("work")
    .description("a long-lived worker: wait for jobs and run them until stopped")
    .option("-m, --max-jobs <n>", "maximum concurrent jobs on this host (default: maxJobs from the config)")
    .option("--sleep <seconds>", "when nothing is due, look again after this long", "3")
    .option("--max-time <seconds>", "exit after this long (after the running jobs)")
    .option("--memory <mb>", "exit when resident memory exceeds this (after the running jobs)")
    .option("--stop-when-empty", "exit once nothing is due")
    .option("--grace <seconds>", "on SIGTERM/SIGINT, how long running jobs may finish before they go back to pending", "30")
    .option("--type <type>", "only jobs of this type (repeatable)", collect)
    .option("--force", "work even in maintenance mode")
    .addHelpText("after", EXAMPLES)
    .action(async (_raw, command: Command) => {
      const options = parseOptions(optionsSchema, command.opts());
      await withContext(
        command.optsWithGlobals<GlobalOptions>(),
        async ({ config, db, registry, logger }) => {
          const stop = new GracefulStop(options.grace, logger);
          const removeHandlers = stopOnSignals(stop);
          const line = statusLineFor(command.optsWithGlobals<GlobalOptions>());
          const progress = line && new RunProgress(line).start();
          const tally = new RunTally();
          try {
            const report = await runWorker(
              { config, db, registry, logger, observer: progress },
              {
                maxJobs: options.maxJobs ?? config.maxJobs,
                types: options.type,
                sleepSeconds: options.sleep,
                maxTimeSeconds: options.maxTime,
                memoryMb: options.memory,
                stopWhenEmpty: options.stopWhenEmpty,
                force: options.force,
                stop,
              },
              tally,
            ).finally(() => afterRun({ config, db, logger }, tally));
            logger.info(`worker stopped (${report.reason}): ${describeCounts(report.counts)}`, { ...report.counts, reason: report.reason });
          } finally {
            removeHandlers();
            progress?.stop();
          }
        },
        { lazyHandlers: true },
      );
    });
}
