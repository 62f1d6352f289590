import { Command } from "commander";
import { z } from "zod";
import { listJobs, STATUSES } from "../../queue/admin.js";
import { collect, parseOptions, positiveIntString, withContext, type GlobalOptions } from "../context.js";
import { formatTable, truncate } from "../table.js";

const optionsSchema = z.object({
  status: z.enum([...STATUSES, "active", "all"]).default("all"),
  type: z.array(z.string()).optional(),
  user: z.string().optional(),
  limit: positiveIntString.default(50),
  json: z.boolean().optional(),
});

export function listCommand(): Command {
  return new Command("list")
    .description("list jobs, newest first")
    .option("--status <status>", "pending|running|complete|failed|cancelled|active|all", "all")
    .option("--type <type>", "only this type (repeatable)", collect)
    .option("--user <user>", "only this user's jobs")
    .option("--limit <n>", "at most this many", "50")
    .option("--json", "print a JSON array")
    .action(async (_raw, command: Command) => {
      const options = parseOptions(optionsSchema, command.opts());
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ db, registry }) => {
        const jobs = await listJobs(db, { status: options.status, types: options.type, user: options.user, limit: options.limit });
        if (options.json) {
          process.stdout.write(`${JSON.stringify(jobs.map((j) => ({ ...j, result: parseMaybe(j.result) })))}\n`);
          return;
        }
        process.stdout.write(
          formatTable(
            ["REF", "TYPE", "STATUS", "PRI", "TRIES", "USER", "CREATED", "FINISHED", "ERROR"],
            jobs.map((j) => [
              j.ref,
              j.type,
              j.status === "running" && j.progress !== null ? `running ${j.progress}%` : j.status,
              j.priority,
              `${j.attempts}/${j.max_attempts ?? registry.settings(j.type).maxAttempts}`,
              j.user,
              j.created_at.slice(0, 19),
              j.finished_at?.slice(0, 19),
              truncate(j.error, 60),
            ]),
          ),
        );
      });
    });
}

export function parseMaybe(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
