import { Command } from "commander";
import { cancelJobs } from "../../queue/repair.js";
import { withContextAfterWrites, type GlobalOptions } from "../context.js";
import { describeRefs, parseRefs, reportRefs } from "../job-refs.js";

const EXAMPLES = `
Examples:
  offline-jobs cancel 256
  offline-jobs cancel 256 257 258

A pending job is cancelled at once. A running job is marked cancelled; the process running it,
on whichever host, learns it at its next lease renewal (within 2 s, or a third of leaseSeconds
if that is shorter), stops it, kills its subprocesses (SIGTERM, then SIGKILL 3 s later) and
records the end in its log. Prints the refs now cancelled or stopping;
exits 1 when none is.`;

export function cancelCommand(): Command {
  return new Command("cancel")
    .description("cancel jobs: pending ones at once, running ones are stopped wherever they run")
    .argument("<ids...>", "the jobs' refs")
    .addHelpText("after", EXAMPLES)
    .action(async (ids: string[], _raw, command: Command) => {
      const refs = parseRefs(ids);
      await withContextAfterWrites(command.optsWithGlobals<GlobalOptions>(), async ({ db, config, logger }) => {
        const { cancelled, stopping, alreadyCancelled, skipped } = await cancelJobs(db, refs, config.logMaxBytes);
        if (cancelled.length) logger.info(`cancelled ${describeRefs(cancelled)}`);
        if (stopping.length)
          logger.info(
            `asked to stop ${describeRefs(stopping)}; the processes running them stop them within about 2 s (their subprocesses get 3 s more to exit)`,
          );
        if (alreadyCancelled.length) logger.info(`already cancelled: ${describeRefs(alreadyCancelled)}`);
        reportRefs(
          logger,
          "cancelled",
          [...cancelled, ...stopping, ...alreadyCancelled].sort((a, b) => a - b),
          skipped,
        );
      });
    });
}
