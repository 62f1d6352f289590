import { Command, Option } from "commander";
import { COMMAND_NAMES, type CommandName } from "./command-names.js";
import { handleError } from "./errors.js";

/**
 * Each command's module, imported only when a command line names it. Why: a cron run on an
 * empty queue is mostly Node loading modules, and the other sixteen commands' modules (with
 * the queries, tables, CSV and checks they import) were a fifth of what `run` loaded.
 */
const LOADERS: Record<CommandName, () => Promise<Command>> = {
  run: async () => (await import("./commands/run.js")).runCommand(),
  init: async () => (await import("./commands/init.js")).initCommand(),
  add: async () => (await import("./commands/add.js")).addCommand(),
  list: async () => (await import("./commands/list.js")).listCommand(),
  show: async () => (await import("./commands/show.js")).showCommand(),
  stats: async () => (await import("./commands/stats.js")).statsCommand(),
  work: async () => (await import("./commands/work.js")).workCommand(),
  restart: async () => (await import("./commands/restart.js")).restartCommand(),
  retry: async () => (await import("./commands/retry.js")).retryCommand(),
  boost: async () => (await import("./commands/boost.js")).boostCommand(),
  cancel: async () => (await import("./commands/cancel.js")).cancelCommand(),
  clear: async () => (await import("./commands/clear.js")).clearCommand(),
  purge: async () => (await import("./commands/purge.js")).purgeCommand(),
  types: async () => (await import("./commands/types.js")).typesCommand(),
  export: async () => (await import("./commands/export.js")).exportCommand(),
  doctor: async () => (await import("./commands/doctor.js")).doctorCommand(),
  test: async () => (await import("./commands/test.js")).testCommand(),
  web: async () => (await import("./commands/web.js")).webCommand(),
  "web-user": async () => (await import("./commands/web-user.js")).webUserCommand(),
};

/** The program's own options that take a value: the word after them is not a command. */
const GLOBAL_WITH_VALUE = new Set(["--config", "--log-format"]);
/** The program's own flags, alone or bundled (-qv). */
const GLOBAL_FLAG = /^(-[qv]+|--quiet|--verbose|--(config|log-format)=.*)$/;

/**
 * Which command a command line names, for loading only that one: the first word after the
 * program's own options; a run option or nothing at all is `run`, the default command.
 * Undefined (load them all) for help, --version, or a word that is no command, so that
 * commander can list them or say "did you mean".
 */
export function commandOf(args: string[]): CommandName | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (GLOBAL_WITH_VALUE.has(arg)) i++;
    else if (GLOBAL_FLAG.test(arg)) continue;
    else if (["-h", "--help", "-V", "--version", "help"].includes(arg)) return undefined;
    else if (arg.startsWith("-")) return "run";
    else return (COMMAND_NAMES as readonly string[]).includes(arg) ? (arg as CommandName) : undefined;
  }
  return "run";
}

/**
 * The program: global options and its commands, each from its own file: all of them, or only
 * `only` (and run, the default command, whose options the program's help shows).
 */
export async function buildProgram(only?: CommandName): Promise<Command> {
  const program = new Command("offline-jobs")
    .description("Runs the slow work of web applications from a MySQL/MariaDB job table.")
    .version(process.env.npm_package_version ?? "0.1.0")
    .option("--config <path>", "config file (default: $OFFLINE_JOBS_CONFIG, else ./config.json)")
    .option("-q, --quiet", "print only errors (for cron mail)")
    .option("-v, --verbose", "print debugging detail")
    .addOption(new Option("--log-format <format>", "human or json (default: human on a terminal, else json)").choices(["human", "json"]))
    .showSuggestionAfterError()
    .exitOverride();
  const names = only === undefined ? COMMAND_NAMES : COMMAND_NAMES.filter((name) => name === "run" || name === only);
  const commands = await Promise.all(names.map((name) => LOADERS[name]()));
  const run = commands[0]!;
  for (const command of commands) {
    command.exitOverride();
    program.addCommand(command, { isDefault: command === run });
  }
  // `offline-jobs --help` shows the default command's flags too, as offline_jobs.php's help does.
  const runOptions = run
    .createHelp()
    .visibleOptions(run)
    .filter((o) => o.long !== "--help");
  const width = Math.max(...runOptions.map((o) => o.flags.length));
  const { RUN_EXAMPLES } = await import("./commands/run.js");
  program.addHelpText(
    "after",
    `\nRun options (offline-jobs [run] …):\n${runOptions.map((o) => `  ${o.flags.padEnd(width)}  ${o.description}`).join("\n")}\n${RUN_EXAMPLES}`,
  );
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await (await buildProgram(commandOf(argv.slice(2)))).parseAsync(argv);
  } catch (error) {
    handleError(error);
  }
}
