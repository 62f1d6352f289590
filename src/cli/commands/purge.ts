import { Command } from "commander";
import { z } from "zod";
import { PURGEABLE, purgeJobs, type PurgeableStatus } from "../../queue/cleanup.js";
import { parseOptions, withContext, type GlobalOptions } from "../context.js";

const optionsSchema = z.object({
  olderThan: z
    .string({ error: "is required: the age in days" })
    .regex(/^\d+(\.\d+)?$/, "must be a number of days (0 or more)")
    .transform(Number),
  status: z.enum([...PURGEABLE, "inactive"]).default("inactive"),
});

const EXAMPLES = `
Examples:
  offline-jobs purge --older-than 30                    finished jobs older than 30 days
  offline-jobs purge --older-than 7 --status complete   completed jobs older than a week

The age is counted from finished_at. Running and pending jobs are never purged. Every run
also purges by itself when retention.completeDays / retention.failedDays are set.
Prints the number of jobs deleted.`;

export function purgeCommand(): Command {
  return new Command("purge")
    .description("delete finished jobs that finished more than DAYS ago")
    .option("--older-than <days>", "finished more than this many days ago (decimals allowed)")
    .option("--status <status>", "complete|failed|cancelled|inactive (all three)", "inactive")
    .addHelpText("after", EXAMPLES)
    .action(async (_raw, command: Command) => {
      const options = parseOptions(optionsSchema, command.opts());
      const statuses: readonly PurgeableStatus[] = options.status === "inactive" ? PURGEABLE : [options.status];
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ db, logger }) => {
        const deleted = await purgeJobs(db, { olderThanDays: options.olderThan, statuses });
        process.stdout.write(`${deleted}\n`);
        logger.info(
          `deleted ${deleted} ${options.status === "inactive" ? "finished" : options.status} job(s) finished more than ${options.olderThan} day(s) ago`,
        );
      });
    });
}
