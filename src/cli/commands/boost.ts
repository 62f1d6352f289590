import { Command } from "commander";
import { boostJobs } from "../../queue/repair.js";
import { withContext, type GlobalOptions } from "../context.js";
import { describeRefs, parseRefs, reportRefs } from "../job-refs.js";

export function boostCommand(): Command {
  return new Command("boost")
    .description("run these pending jobs next: priority 0 and due now (ResourceSpace's Boost)")
    .argument("<ids...>", "the jobs' refs")
    .addHelpText("after", "\nExample:\n  offline-jobs boost 256\n\nPrints the refs boosted; exits 1 when none of them is pending or running.")
    .action(async (ids: string[], _raw, command: Command) => {
      const refs = parseRefs(ids);
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ db, logger }) => {
        const { boosted, skipped } = await boostJobs(db, refs);
        if (boosted.length) logger.info(`boosted ${describeRefs(boosted)}: priority 0, due now`);
        reportRefs(logger, "boosted", boosted, skipped);
      });
    });
}
