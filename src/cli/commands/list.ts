import { Command } from "commander";
import { z } from "zod";
import { listJobs, STATUSES, type ListedJob } from "../../queue/admin.js";
import { collect, parseOptions, positiveIntString, withContext, type GlobalOptions } from "../context.js";
import { jobInfo, parseMaybe } from "../job-info.js";
import { parseSince } from "../since.js";
import { formatDuration, formatTable, truncate } from "../table.js";

/** Options `list` and `export` share: which jobs. */
export const filterOptionsSchema = z.object({
  status: z.enum([...STATUSES, "active", "all"]).default("all"),
  type: z.array(z.string()).optional(),
  user: z.string().optional(),
  since: z.string().transform(parseSince).optional(),
});

const optionsSchema = filterOptionsSchema.extend({
  // More than a screenful is a job for `export --csv`, which pages through the table.
  limit: positiveIntString.pipe(z.number().max(10_000, "must be at most 10000 (use export --csv for more)")).default(50),
  json: z.boolean().optional(),
});

export function addFilterOptions(command: Command): Command {
  return command
    .option("--status <status>", "pending|running|complete|failed|cancelled|active|all", "all")
    .option("--type <type>", "only this type (repeatable)", collect)
    .option("--user <user>", "only this user's jobs")
    .option("--since <when>", "created since: an ISO date or date-time, or 30m / 2h / 3d / 1w (ago)");
}

const EXAMPLES = `
Examples:
  offline-jobs list --status active          pending and running jobs, with queue positions
  offline-jobs list --status failed --since 1d
  offline-jobs list --type create_previews --user alice --limit 10
  offline-jobs list --json                   a JSON array (position: jobs a claim takes first)`;

export function listCommand(): Command {
  return addFilterOptions(new Command("list").description("list jobs, newest first; pending jobs show their queue position"))
    .option("--limit <n>", "at most this many", "50")
    .option("--json", "print a JSON array")
    .addHelpText("after", EXAMPLES)
    .action(async (_raw, command: Command) => {
      const options = parseOptions(optionsSchema, command.opts());
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ db, registry }) => {
        const jobs = await listJobs(db, {
          status: options.status,
          types: options.type,
          user: options.user,
          since: options.since,
          limit: options.limit,
        });
        if (options.json) {
          process.stdout.write(`${JSON.stringify(jobs.map(({ dueInSeconds: _, ...job }) => ({ ...job, result: parseMaybe(job.result) })))}\n`);
          return;
        }
        if (jobs.length === 0) {
          process.stdout.write("no jobs match\n");
          return;
        }
        process.stdout.write(
          formatTable(
            ["REF", "TYPE", "STATUS", "QUEUE", "PRI", "TRIES", "USER", "CREATED", "FINISHED", "INFO"],
            jobs.map((j) => [
              j.ref,
              j.type,
              j.status === "running" && j.progress !== null ? `running ${j.progress}%` : j.status,
              queueCell(j),
              j.priority,
              `${j.attempts}/${j.max_attempts ?? registry.settings(j.type).maxAttempts}`,
              j.user,
              j.created_at.slice(0, 19),
              j.finished_at?.slice(0, 19),
              truncate(jobInfo(j), 60),
            ]),
          ),
        );
      });
    });
}

/** "next", "3 ahead", or for a delayed job "due in 2h 5m". */
function queueCell(job: ListedJob): string {
  if (job.position !== null) return job.position === 0 ? "next" : `${job.position} ahead`;
  if (job.dueInSeconds !== null) return `due in ${formatDuration(job.dueInSeconds)}`;
  return "";
}
