import { Command } from "commander";
import { cancelJobs } from "../../queue/repair.js";
import { withContext, type GlobalOptions } from "../context.js";
import { describeRefs, parseRefs, reportRefs } from "../job-refs.js";

const EXAMPLES = `
Examples:
  offline-jobs cancel 256
  offline-jobs cancel 256 257 258

A pending job is cancelled at once. A running job is marked cancelled; the process running it,
on whichever host, stops it and kills its subprocesses at its next heartbeat (within a third
of leaseSeconds) and records the end in its log. Prints the refs now cancelled or stopping;
exits 1 when none is.`;

export function cancelCommand(): Command {
  return new Command("cancel")
    .description("cancel jobs: pending ones at once, running ones are stopped wherever they run")
    .argument("<ids...>", "the jobs' refs")
    .addHelpText("after", EXAMPLES)
    .action(async (ids: string[], _raw, command: Command) => {
      const refs = parseRefs(ids);
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ db, config, logger }) => {
        const { cancelled, stopping, alreadyCancelled, skipped } = await cancelJobs(db, refs, config.logMaxBytes);
        if (cancelled.length) logger.info(`cancelled ${describeRefs(cancelled)}`);
        if (stopping.length) logger.info(`asked to stop ${describeRefs(stopping)}; their processes stop them within a few seconds`);
        if (alreadyCancelled.length) logger.info(`already cancelled: ${describeRefs(alreadyCancelled)}`);
        reportRefs(logger, "cancelled", [...cancelled, ...stopping, ...alreadyCancelled].sort((a, b) => a - b), skipped);
      });
    });
}
