import { Command } from "commander";
import { z } from "zod";
import { UsageError } from "../../errors.js";
import { retryFailedJobs, retryJobs } from "../../queue/repair.js";
import { collect, parseOptions, withContext, type GlobalOptions } from "../context.js";
import { describeRefs, parseRefs, reportRefs } from "../job-refs.js";

const optionsSchema = z.object({
  failed: z.boolean().optional(),
  type: z.array(z.string().min(1)).optional(),
});

const EXAMPLES = `
Examples:
  offline-jobs retry 256 257                  these two failed or cancelled jobs, now
  offline-jobs retry --failed                 every failed job
  offline-jobs retry --failed --type command  every failed command job

A retried job is pending and due now, with attempts reset to 0; its last error moves into its
log. Prints the refs retried; exits 1 when none of them could be retried.`;

export function retryCommand(): Command {
  return new Command("retry")
    .description("run failed or cancelled jobs again (attempts reset to 0)")
    .argument("[ids...]", "the jobs' refs")
    .option("--failed", "every failed job (instead of refs)")
    .option("--type <type>", "with --failed: only this type (repeatable)", collect)
    .addHelpText("after", EXAMPLES)
    .action(async (ids: string[], _raw, command: Command) => {
      const options = parseOptions(optionsSchema, command.opts());
      const refs = parseRefs(ids);
      if (options.failed && refs.length) throw new UsageError("retry takes job refs or --failed, not both");
      if (!options.failed && refs.length === 0) throw new UsageError("retry needs job refs, or --failed");
      if (options.type && !options.failed) throw new UsageError("--type goes with --failed (retry by ref retries those refs)");
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ db, config, logger }) => {
        const { retried, skipped } = options.failed
          ? await retryFailedJobs(db, { types: options.type }, config.logMaxBytes)
          : await retryJobs(db, refs, config.logMaxBytes);
        if (options.failed && retried.length === 0 && skipped.length === 0) {
          logger.info(`no failed jobs${options.type ? ` of type ${options.type.join(", ")}` : ""} to retry`);
          return;
        }
        if (retried.length) logger.info(`retried ${describeRefs(retried)}`);
        reportRefs(logger, "retried", retried, skipped);
      });
    });
}
