import readline from "node:readline/promises";
import { Command } from "commander";
import { z } from "zod";
import { FatalError, UsageError } from "../../errors.js";
import { clearEverything, clearInactiveJobs, countJobs } from "../../queue/cleanup.js";
import { parseOptions, withContext, type GlobalOptions } from "../context.js";

const optionsSchema = z.object({
  user: z.string().max(191).optional(),
  all: z.boolean().optional(),
  everything: z.boolean().optional(),
  yes: z.boolean().optional(),
});

const EXAMPLES = `
Examples:
  offline-jobs clear --user alice        delete alice's finished jobs
  offline-jobs clear --all               delete every finished job (complete, failed, cancelled)
  offline-jobs clear --everything        delete every job, pending and running too (asks first)
  offline-jobs clear --everything --yes  the same, without asking (scripts)

Prints the number of jobs deleted.`;

export function clearCommand(): Command {
  return new Command("clear")
    .description("delete finished jobs of a user or of everyone, or (--everything) every job")
    .option("--user <user>", "only this user's finished jobs")
    .option("--all", "every user's finished jobs")
    .option("--everything", "every job whatever its status (AtoM's jobs:clear)")
    .option("--yes", "with --everything: do not ask for confirmation")
    .addHelpText("after", EXAMPLES)
    .action(async (_raw, command: Command) => {
      const options = parseOptions(optionsSchema, command.opts());
      const chosen = [options.user !== undefined, options.all, options.everything].filter(Boolean).length;
      if (chosen !== 1) throw new UsageError("clear needs exactly one of --user U, --all or --everything");
      if (options.yes && !options.everything) throw new UsageError("--yes goes with --everything");
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ db, logger }) => {
        if (!options.everything) {
          const deleted = await clearInactiveJobs(db, { user: options.user });
          process.stdout.write(`${deleted}\n`);
          logger.info(`deleted ${deleted} finished job(s)${options.user !== undefined ? ` of user ${options.user}` : ""}`);
          return;
        }
        const { total, running, maxRef } = await countJobs(db);
        if (total === 0) {
          process.stdout.write("0\n");
          logger.info("there are no jobs to delete");
          return;
        }
        if (running > 0) {
          logger.warn(`${running} of the ${total} job(s) are running: their processes will abandon them at their next heartbeat`);
        }
        if (!options.yes) {
          if (!process.stdin.isTTY) {
            throw new UsageError(`clear --everything would delete all ${total} job(s): add --yes to confirm (stdin is not a terminal, so it cannot ask)`);
          }
          if (!(await confirm(`Delete all ${total} job(s)${running ? `, ${running} of them running` : ""}? [y/N] `))) {
            throw new FatalError("not confirmed: nothing was deleted");
          }
        }
        const deleted = await clearEverything(db, maxRef);
        process.stdout.write(`${deleted}\n`);
        logger.info(`deleted ${deleted} job(s)`);
      });
    });
}

/** Asks on the terminal (the question on stderr, so stdout keeps only the count). */
async function confirm(question: string): Promise<boolean> {
  const prompt = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}
