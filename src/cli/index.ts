import { Command, Option } from "commander";
import { addCommand } from "./commands/add.js";
import { exportCommand } from "./commands/export.js";
import { initCommand } from "./commands/init.js";
import { listCommand } from "./commands/list.js";
import { RUN_EXAMPLES, runCommand } from "./commands/run.js";
import { showCommand } from "./commands/show.js";
import { restartCommand } from "./commands/restart.js";
import { statsCommand } from "./commands/stats.js";
import { typesCommand } from "./commands/types.js";
import { workCommand } from "./commands/work.js";
import { boostCommand } from "./commands/boost.js";
import { cancelCommand } from "./commands/cancel.js";
import { clearCommand } from "./commands/clear.js";
import { purgeCommand } from "./commands/purge.js";
import { retryCommand } from "./commands/retry.js";
import { doctorCommand } from "./commands/doctor.js";
import { testCommand } from "./commands/test.js";
import { webCommand } from "./commands/web.js";
import { webUserCommand } from "./commands/web-user.js";
import { handleError } from "./errors.js";

/** The program: global options and the list of commands. Each command lives in its own file. */
export function buildProgram(): Command {
  const program = new Command("offline-jobs")
    .description("Runs the slow work of web applications from a MySQL/MariaDB job table.")
    .version(process.env.npm_package_version ?? "0.1.0")
    .option("--config <path>", "config file (default: $OFFLINE_JOBS_CONFIG, else ./config.json)")
    .option("-q, --quiet", "print only errors (for cron mail)")
    .option("-v, --verbose", "print debugging detail")
    .addOption(new Option("--log-format <format>", "human or json (default: human on a terminal, else json)").choices(["human", "json"]))
    .showSuggestionAfterError()
    .exitOverride();
  const run = runCommand();
  for (const command of [
    run,
    initCommand(),
    addCommand(),
    listCommand(),
    showCommand(),
    statsCommand(),
    workCommand(),
    restartCommand(),
    retryCommand(),
    boostCommand(),
    cancelCommand(),
    clearCommand(),
    purgeCommand(),
    typesCommand(),
    exportCommand(),
    doctorCommand(),
    testCommand(),
    webCommand(),
    webUserCommand(),
  ]) {
    command.exitOverride();
    program.addCommand(command, { isDefault: command === run });
  }
  // `offline-jobs --help` shows the default command's flags too, as offline_jobs.php's help does.
  const runOptions = run
    .createHelp()
    .visibleOptions(run)
    .filter((o) => o.long !== "--help");
  const width = Math.max(...runOptions.map((o) => o.flags.length));
  program.addHelpText(
    "after",
    `\nRun options (offline-jobs [run] …):\n${runOptions.map((o) => `  ${o.flags.padEnd(width)}  ${o.description}`).join("\n")}\n${RUN_EXAMPLES}`,
  );
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    handleError(error);
  }
}
