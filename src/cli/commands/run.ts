import { Command } from "commander";
import { z } from "zod";
import { JobFailedExit, UsageError } from "../../errors.js";
import { didYouMean } from "../../suggest.js";
import { GracefulStop, stopOnSignals } from "../../runner/process/graceful-stop.js";
import { maintenanceReason } from "../../runner/process/maintenance.js";
import { afterRun, RunTally } from "../../runner/process/after-run.js";
import { runJobs } from "../../runner/process/run.js";
import { COMMAND_NAMES } from "../command-names.js";
import { describeCounts } from "../run-summary.js";
import type { Database } from "../../queue/db.js";
import type { RunProgress } from "../run-progress.js";
import type { StatusLine } from "../status-line.js";
import { collect, parseOptions, positiveIntString, statusLineFor, withContext, type GlobalOptions } from "../context.js";

/** A number of seconds on the command line ("30", "2.5"). */
export const secondsString = z
  .string()
  .regex(/^\d+(\.\d+)?$/, "must be a number of seconds")
  .transform(Number);

const optionsSchema = z.object({
  job: positiveIntString.optional(),
  clearLock: z.boolean().optional(),
  maxJobs: positiveIntString.optional(),
  type: z.array(z.string()).optional(),
  limit: positiveIntString.optional(),
  once: z.boolean().optional(),
  maxTime: secondsString.optional(),
  dryRun: z.boolean().optional(),
  grace: secondsString.default(30),
  force: z.boolean().optional(),
});

export const RUN_EXAMPLES = `
Examples:
  offline-jobs                        run due jobs until none are left (the cron entry)
  offline-jobs --max-jobs 4           at most 4 jobs at once on this host, counting other runs
  offline-jobs --job 256              run job 256 now
  offline-jobs --clear-lock           remove every lock on this host first, then run
  offline-jobs --clear-lock --job 256 job 256 is stuck running after a crash: re-queue and run it
  offline-jobs --type create_previews --limit 10
  offline-jobs --dry-run              show what would run, change nothing`;

function unknownCommand(word: string, commands: string[]): UsageError {
  return new UsageError(`unknown command '${word}'${didYouMean(word, commands)}`);
}

/** The terminal's progress display of a run; `db`: also count the jobs due (not for --job). */
async function startProgress(line: StatusLine, db: Database | undefined, types: string[]): Promise<RunProgress> {
  const [{ RunProgress }, { countDueJobs }] = await Promise.all([import("../run-progress.js"), import("../../queue/admin.js")]);
  return new RunProgress(line, db ? () => countDueJobs(db, types) : undefined).start();
}

export function runCommand(): Command {
  return (
    new Command("run")
      .description("claim due jobs and run them (the default command, for cron or a timer)")
      .option("-j, --job <id>", "run just this job now (pending; or stuck, with --clear-lock)")
      .option("-c, --clear-lock", "clear existing process locks first")
      .option("-m, --max-jobs <n>", "maximum concurrent jobs on this host (default: maxJobs from the config)")
      .option("--type <type>", "only jobs of this type (repeatable)", collect)
      .option("--limit <n>", "run at most this many jobs")
      .option("--once", "run at most one job (--limit 1)")
      .option("--max-time <seconds>", "stop claiming new jobs after this long")
      .option("--dry-run", "list the jobs that would be claimed, and change nothing")
      .option("--grace <seconds>", "on SIGTERM/SIGINT, how long running jobs may finish before they go back to pending", "30")
      .option("--force", "run even in maintenance mode")
      .addHelpText("after", RUN_EXAMPLES)
      // run is the default command, so a misspelt command ("lsit") arrives here as an operand:
      // it is answered as an unknown command rather than as "too many arguments for 'run'".
      .allowExcessArguments(true)
      .action(async (_raw, command: Command) => {
        // The names, not the parent's commands: only this one may have been loaded (index.ts).
        if (command.args.length) throw unknownCommand(command.args[0]!, [...COMMAND_NAMES]);
        const all = command.optsWithGlobals<GlobalOptions & Record<string, unknown>>();
        const options = parseOptions(optionsSchema, command.opts());
        await withContext(
          all,
          async ({ config, db, registry, logger }) => {
            const maxJobs = options.maxJobs ?? config.maxJobs;
            const limit = options.once ? 1 : options.limit;
            if (options.dryRun) {
              // A run's first claim is for its free slots (claim-plan.ts): that is what it takes first.
              const { peekDueJobs } = await import("../../queue/admin.js");
              const due = await peekDueJobs(db, registry.selected(options.type), limit ?? maxJobs);
              for (const job of due) process.stdout.write(`${job.ref}\t${job.type}\tpriority ${job.priority}\tattempt ${job.attempts + 1}\n`);
              logger.info(`dry run: ${due.length} due job(s) would be claimed first; nothing was changed`);
              return;
            }
            const maintenance = options.force ? undefined : maintenanceReason(config);
            if (maintenance) {
              logger.warn(`maintenance mode (${maintenance}): nothing run; --force runs anyway`);
              if (options.job !== undefined) throw new JobFailedExit();
              return;
            }
            const started = Date.now();
            const stop = new GracefulStop(options.grace, logger);
            const removeHandlers = stopOnSignals(stop);
            // The progress display and its count of due jobs, only on a terminal (not cron's).
            const line = statusLineFor(all);
            const progress = line && (await startProgress(line, options.job === undefined ? db : undefined, registry.selected(options.type)));
            const report = await runJobs(
              { config, db, registry, logger, observer: progress },
              { maxJobs, limit, maxTimeSeconds: options.maxTime, types: options.type, job: options.job, clearLock: options.clearLock, stop },
            ).finally(() => {
              removeHandlers();
              progress?.stop();
            });
            // A run that found every slot busy did nothing: it leaves the last run's figures alone.
            if (!report.busy) await afterRun({ config, db, logger }, new RunTally().begin(started).add(report.counts));
            if (report.job) {
              const { ref, status, error, result } = report.job;
              if (status === "complete") {
                process.stdout.write(`${JSON.stringify(result)}\n`);
                logger.info(`job ${ref} complete`);
                return;
              }
              const { describeRunJobEnd } = await import("../job-end.js");
              logger.error(describeRunJobEnd(ref, status, error, report.job.attempt));
              throw new JobFailedExit();
            }
            if (report.busy) return;
            const c = report.counts;
            const seconds = ((Date.now() - started) / 1000).toFixed(1);
            logger.info(`done in ${seconds} s with ${report.slots} slot(s): ${describeCounts(c)}${stop.reason ? ` (stopped: ${stop.reason})` : ""}`, {
              ...c,
              seconds: Number(seconds),
              slots: report.slots,
            });
          },
          { lazyHandlers: true },
        );
      })
  );
}
