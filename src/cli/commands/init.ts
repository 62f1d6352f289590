import { Command } from "commander";
import { openDatabase } from "../../queue/db.js";
import { applyMigrations } from "../../queue/migrations.js";
import { databaseUrls, loadCommandConfig, makeLogger, type GlobalOptions } from "../context.js";

export function initCommand(): Command {
  return new Command("init").description("create or upgrade the job table (idempotent; run after every upgrade)").action(async (_raw, command: Command) => {
    const options = command.optsWithGlobals<GlobalOptions>();
    const logger = makeLogger(options);
    const config = loadCommandConfig(options, logger);
    const db = openDatabase(databaseUrls(config), config.database.table, 1, { onNodeChange: (line) => logger.warn(line) });
    try {
      const { server, from, to } = await applyMigrations(db);
      logger.info(
        from === to
          ? `job table ${db.table} is up to date at schema version ${to} (${server})`
          : `job table ${db.table} migrated from schema version ${from} to ${to} (${server})`,
        { table: db.table, from, to, server },
      );
    } finally {
      await db.close();
    }
  });
}
