import { Command, Option } from "commander";
import { z } from "zod";
import { queueFamilies } from "../../metrics/job-metrics.js";
import { renderExposition } from "../../metrics/prometheus.js";
import { countsByType, jobStats, STATUSES } from "../../queue/admin.js";
import { terminalJson, visible } from "../../quote.js";
import { parseOptions, withContext, type GlobalOptions } from "../context.js";
import { formatTable } from "../table.js";

const optionsSchema = z
  .object({
    json: z.boolean().optional(),
    format: z.enum(["table", "json", "prometheus"]).optional(),
  })
  .refine((o) => !(o.json && o.format && o.format !== "json"), { message: "--json and --format prometheus/table exclude each other", path: ["json"] });

export function statsCommand(): Command {
  return new Command("stats")
    .description("how many jobs per type and status, and how long the oldest due job has waited")
    .option("--json", "print counts by type and status as JSON (--format json)")
    .addOption(
      new Option("--format <format>", "table, json, or prometheus (the text exposition format, offline_jobs_… metrics)").choices([
        "table",
        "json",
        "prometheus",
      ]),
    )
    .addHelpText(
      "after",
      "\nExamples:\n  offline-jobs stats\n  offline-jobs stats --json\n  offline-jobs stats --format prometheus > /var/lib/node_exporter/textfile_collector/offline_jobs.prom",
    )
    .action(async (_raw, command: Command) => {
      const options = parseOptions(optionsSchema, command.opts());
      const format = options.json ? "json" : (options.format ?? "table");
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ db, registry }) => {
        const stats = await jobStats(db);
        if (format === "prometheus") {
          process.stdout.write(renderExposition(queueFamilies(stats)));
          return;
        }
        const byType = countsByType(stats);
        const unknownTypes = [...byType.keys()].filter((t) => !registry.get(t));
        if (format === "json") {
          process.stdout.write(`${terminalJson({ types: Object.fromEntries(byType), oldestPendingSeconds: stats.oldestPendingSeconds, unknownTypes })}\n`);
          return;
        }
        const totals = Object.fromEntries(STATUSES.map((s) => [s, 0]));
        for (const counts of byType.values()) for (const s of STATUSES) totals[s]! += counts[s]!;
        process.stdout.write(
          formatTable(
            ["TYPE", ...STATUSES.map((s) => s.toUpperCase())],
            [...[...byType].map(([type, counts]) => [type, ...STATUSES.map((s) => counts[s])]), ["(all)", ...STATUSES.map((s) => totals[s])]],
          ),
        );
        const left = (totals.pending ?? 0) + (totals.running ?? 0);
        process.stdout.write(
          `${left} job(s) left; oldest due pending job waiting ${stats.oldestPendingSeconds === null ? "-" : `${stats.oldestPendingSeconds} s`}\n`,
        );
        if (unknownTypes.length) process.stdout.write(`types no handler here knows: ${unknownTypes.map(visible).join(", ")}\n`);
      });
    });
}
