import { Command } from "commander";
import { z } from "zod";
import { jobStats, STATUSES } from "../../queue/admin.js";
import { parseOptions, withContext, type GlobalOptions } from "../context.js";
import { formatTable } from "../table.js";

const optionsSchema = z.object({ json: z.boolean().optional() });

export function statsCommand(): Command {
  return new Command("stats")
    .description("how many jobs per type and status, and how long the oldest due job has waited")
    .option("--json", "print counts by type and status as JSON")
    .action(async (_raw, command: Command) => {
      const options = parseOptions(optionsSchema, command.opts());
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ db, registry }) => {
        const stats = await jobStats(db);
        const byType = new Map<string, Record<string, number>>();
        for (const { type, status, jobs } of stats.counts) {
          const counts = byType.get(type) ?? Object.fromEntries(STATUSES.map((s) => [s, 0]));
          counts[status] = jobs;
          byType.set(type, counts);
        }
        const unknownTypes = [...byType.keys()].filter((t) => !registry.get(t));
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify({ types: Object.fromEntries(byType), oldestPendingSeconds: stats.oldestPendingSeconds, unknownTypes })}\n`,
          );
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
        if (unknownTypes.length) process.stdout.write(`types no handler here knows: ${unknownTypes.join(", ")}\n`);
      });
    });
}
