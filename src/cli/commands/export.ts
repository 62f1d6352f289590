import { once } from "node:events";
import { Command } from "commander";
import { z } from "zod";
import { UsageError } from "../../errors.js";
import { exportJobs, type ExportedJob } from "../../queue/admin.js";
import { parseOptions, withContext, type GlobalOptions } from "../context.js";
import { csvRecord } from "../../csv.js";
import { addJobFilterOptions, jobFilterSchema, toJobFilter } from "../job-filter.js";
import { EXPORT_HEADER, exportCells } from "../../client/job-info.js";
import { visible } from "../../quote.js";

const optionsSchema = jobFilterSchema.extend({ csv: z.boolean().optional() });

const EXAMPLES = `
Examples:
  offline-jobs export --csv > jobs.csv
  offline-jobs export --csv --status failed --since 7d --type create_previews

Columns: startDate (when the job was created, as AtoM's), endDate (when it ended), jobName (its
type), jobStatus, jobInfo (the notice of a complete job, the error of a failed one, who runs a
running one), jobUser, ref. Oldest first; RFC 4180 quoting with CRLF line ends; a text cell that
starts with = + - @ (or a tab or CR) gets a leading ' so that a spreadsheet does not run it as a
formula.`;

export function exportCommand(): Command {
  return addJobFilterOptions(new Command("export").description("write jobs as CSV (AtoM's columns plus ref) to stdout, oldest first"))
    .option("--csv", "CSV (the only format, and required so that another can be added)")
    .addHelpText("after", EXAMPLES)
    .action(async (_raw, command: Command) => {
      const options = parseOptions(optionsSchema, command.opts());
      if (!options.csv) throw new UsageError("export needs a format: --csv");
      // `export --csv | head`: the reader leaving is not an error.
      process.stdout.on("error", (error: NodeJS.ErrnoException) => {
        if (error.code === "EPIPE") process.exit(0);
        throw error;
      });
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ db }) => {
        await write(csvRecord(EXPORT_HEADER));
        for await (const page of exportJobs(db, toJobFilter(options))) await write(page.map(csvLine).join(""));
      });
    });
}

/**
 * The values as they are in the table: the file is data. Only when stdout is a terminal (no
 * redirect) are a row's control characters escaped, as `list` does, so that they cannot drive it.
 */
function csvLine(job: ExportedJob): string {
  const text = process.stdout.isTTY ? (value: string | null) => (value === null ? null : visible(value)) : (value: string | null) => value;
  return csvRecord(exportCells(job, text));
}

/** Writes and waits while stdout's buffer is full, so that a slow reader holds back the paging. */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, "drain");
}
