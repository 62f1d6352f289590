import os from "node:os";
import { Command } from "commander";
import { writeState, RESTART_STAMP } from "../../queue/state.js";
import { accountName } from "../cli-user.js";
import { withContext, type GlobalOptions } from "../context.js";

export function restartCommand(): Command {
  return new Command("restart")
    .description("ask every `offline-jobs work` process, on every host, to exit after its current jobs")
    .addHelpText(
      "after",
      "\nWorkers look at the restart stamp every 2 s; systemd (Restart=always) or Supervisor starts them again,\nso a deploy runs: install the new version, then offline-jobs restart.",
    )
    .action(async (_raw, command: Command) => {
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ db, logger }) => {
        const stamp = `${new Date().toISOString()} by ${accountName()}@${os.hostname()}`;
        await writeState(db, RESTART_STAMP, stamp);
        logger.info(`restart stamp set (${stamp}): workers exit after their current jobs`);
      });
    });
}
