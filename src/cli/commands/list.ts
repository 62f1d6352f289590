import { Command } from "commander";
import { z } from "zod";
import { listJobs, parseResult, type ListedJob } from "../../queue/admin.js";
import { terminalJson } from "../../quote.js";
import { parseOptions, positiveIntString, withContext, type GlobalOptions } from "../context.js";
import { jobInfo } from "../../client/job-info.js";
import { addJobFilterOptions, jobFilterSchema, toJobFilter } from "../job-filter.js";
import { formatDuration, formatTable, truncate } from "../table.js";

const optionsSchema = jobFilterSchema.extend({
  // More than a screenful is a job for `export --csv`, which pages through the table.
  limit: positiveIntString.pipe(z.number().max(10_000, "must be at most 10000 (use export --csv for more)")).default(50),
  json: z.boolean().optional(),
});

const EXAMPLES = `
Examples:
  offline-jobs list --status active          pending and running jobs, with queue positions
  offline-jobs list --status failed --since 1d
  offline-jobs list --type create_previews --user alice --limit 10
  offline-jobs list --json                   a JSON array (position: jobs a claim takes first)`;

export function listCommand(): Command {
  return addJobFilterOptions(new Command("list").description("list jobs, newest first; pending jobs show their queue position"))
    .option("--limit <n>", "at most this many", "50")
    .option("--json", "print a JSON array")
    .addHelpText("after", EXAMPLES)
    .action(async (_raw, command: Command) => {
      const options = parseOptions(optionsSchema, command.opts());
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ db, registry }) => {
        const jobs = await listJobs(db, { ...toJobFilter(options), limit: options.limit });
        if (options.json) {
          process.stdout.write(`${terminalJson(jobs.map(({ dueInSeconds: _, ...job }) => ({ ...job, result: parseResult(job.result) })))}\n`);
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
              queueCell(j, registry.get(j.type) !== undefined),
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

/**
 * "next", "3 ahead", or for a delayed job "due in 2h 5m". A pending job of a type this config
 * has no handler for says so instead: it waits for a host whose config has one, or for ever.
 */
function queueCell(job: ListedJob, handledHere: boolean): string {
  if (job.status === "pending" && !handledHere) return "no handler here";
  if (job.position !== null) return job.position === 0 ? "next" : `${job.position} ahead`;
  if (job.dueInSeconds !== null) return `due in ${formatDuration(job.dueInSeconds)}`;
  return "";
}
