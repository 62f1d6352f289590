import { Command } from "commander";
import { z } from "zod";
import { FatalError } from "../../errors.js";
import { getJob } from "../../queue/admin.js";
import { parseOptions, positiveIntString, withContext, type GlobalOptions } from "../context.js";
import { parseMaybe } from "./list.js";

const argsSchema = z.object({ ref: positiveIntString, json: z.boolean().optional() });

export function showCommand(): Command {
  return new Command("show")
    .description("show one job: every column, its result and its log")
    .argument("<id>", "the job's ref")
    .option("--json", "print the row as one JSON object (result parsed)")
    .action(async (id: string, _raw, command: Command) => {
      const { ref, json } = parseOptions(argsSchema, { ref: id, ...command.opts() });
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ db }) => {
        const job = await getJob(db, ref);
        if (!job) throw new FatalError(`job ${ref} does not exist`);
        if (json) {
          process.stdout.write(`${JSON.stringify({ ...job, result: parseMaybe(job.result) })}\n`);
          return;
        }
        const { log, ...columns } = job;
        const width = Math.max(...Object.keys(columns).map((k) => k.length));
        for (const [key, value] of Object.entries(columns)) {
          if (value === null || key === "lock_token") continue;
          process.stdout.write(`${key.padEnd(width)}  ${value}\n`);
        }
        if (log) process.stdout.write(`\n--- log ---\n${log.endsWith("\n") ? log : `${log}\n`}`);
      });
    });
}
