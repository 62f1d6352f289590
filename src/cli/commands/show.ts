import { Command } from "commander";
import { z } from "zod";
import { FatalError, JobFailedExit, UsageError } from "../../errors.js";
import { getJob, parseResult, queuePosition, type JobRow } from "../../queue/admin.js";
import type { Database } from "../../queue/db.js";
import { terminalJson, terminalText, visible } from "../../quote.js";
import { parseOptions, positiveIntString, withContextAfterWrites, type GlobalOptions } from "../context.js";
import { followJob } from "../follow-job.js";
import { noticeOf } from "../../client/job-info.js";

const argsSchema = z.object({ ref: positiveIntString, json: z.boolean().optional(), follow: z.boolean().optional() });

const EXAMPLES = `
Examples:
  offline-jobs show 256              every column, the notice, the result and the log
  offline-jobs show 256 --json       the row as one JSON object (result parsed)
  offline-jobs show 256 --follow     print the log and progress until the job ends (exit 0 complete, 1 failed or cancelled)`;

export function showCommand(): Command {
  return new Command("show")
    .description("show one job: every column, its notice, result and log; or follow it until it ends")
    .argument("<id>", "the job's ref")
    .option("--json", "print the row as one JSON object (result parsed)")
    .option("-f, --follow", "print the log and progress as the job runs, until it ends")
    .addHelpText("after", EXAMPLES)
    .action(async (id: string, _raw, command: Command) => {
      const { ref, json, follow } = parseOptions(argsSchema, { ref: id, ...command.opts() });
      if (json && follow) throw new UsageError("give --json or --follow, not both");
      await withContextAfterWrites(command.optsWithGlobals<GlobalOptions>(), async ({ db }) => {
        const job = await getJob(db, ref);
        if (!job) throw new FatalError(`job ${ref} does not exist`);
        if (json) process.stdout.write(`${terminalJson({ ...job, result: parseResult(job.result) })}\n`);
        else if (follow) await followToEnd(db, ref);
        else process.stdout.write(await describe(db, job));
      });
    });
}

/**
 * Every non-empty column, one per line, then the notice, the result (pretty-printed) and the log;
 * a row's text with its control characters escaped (one-line values: line breaks too).
 */
async function describe(db: Database, job: JobRow): Promise<string> {
  // The claim's token only fences the holder's writes; it means nothing to a reader.
  const { log, result, lock_token: _token, ...columns } = job;
  const lines: Array<[string, unknown]> = Object.entries(columns).filter(([, value]) => value !== null);
  const notice = noticeOf(result);
  if (notice !== null) lines.push(["notice", notice]);
  if (job.status === "pending") {
    const position = await queuePosition(db, job.ref);
    if (position !== null) lines.push(["queue", position === 0 ? "next to be claimed" : `${position} due job(s) ahead`]);
  }
  const width = Math.max(...lines.map(([key]) => key.length));
  let text = lines.map(([key, value]) => `${key.padEnd(width)}  ${visible(String(value))}\n`).join("");
  if (result !== null) {
    const parsed = parseResult(result);
    text += `\n--- result ---\n${typeof parsed === "string" ? terminalText(parsed) : terminalJson(parsed, 2)}\n`;
  }
  if (log) text += `\n--- log ---\n${terminalText(log.endsWith("\n") ? log : `${log}\n`)}`;
  return text;
}

/** --follow: the log as it grows, then one status line; a failed or cancelled job exits 1, as `add --wait`. */
async function followToEnd(db: Database, ref: number): Promise<void> {
  const state = await followJob(db, ref, (text) => process.stdout.write(terminalText(text)));
  const notice = noticeOf(state.result);
  if (state.status === "complete") {
    process.stdout.write(`job ${ref} complete${notice ? `: ${visible(notice)}` : ""}\n`);
    return;
  }
  process.stdout.write(`job ${ref} ${state.status}${state.error ? `: ${visible(state.error)}` : ""}\n`);
  throw new JobFailedExit(`job ${ref} ${state.status}`);
}
