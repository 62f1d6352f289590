import type { Command } from "commander";
import { z } from "zod";
import { STATUSES, type JobFilter } from "../queue/admin.js";
import { collect } from "./context.js";
import { parseSince } from "./since.js";

/** The options that choose jobs, shared by `list` and `export`. */
export const jobFilterSchema = z.object({
  status: z.enum([...STATUSES, "active", "all"]).default("all"),
  type: z.array(z.string()).optional(),
  user: z.string().optional(),
  since: z.string().transform(parseSince).optional(),
});

export function addJobFilterOptions(command: Command): Command {
  return command
    .option("--status <status>", "pending|running|complete|failed|cancelled|active|all", "all")
    .option("--type <type>", "only this type (repeatable)", collect)
    .option("--user <user>", "only this user's jobs")
    .option("--since <when>", "created since: an ISO date or date-time, or 30m / 2h / 3d / 1w (ago)");
}

export function toJobFilter(options: z.infer<typeof jobFilterSchema>): JobFilter {
  return { status: options.status, types: options.type, user: options.user, since: options.since };
}
