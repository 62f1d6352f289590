/**
 * The names of offline-jobs' commands, in the order help lists them. A list of its own, so
 * that a command can name the others (run's "did you mean") without loading their modules:
 * index.ts loads only the module of the command a command line names.
 */
export const COMMAND_NAMES = [
  "run",
  "init",
  "add",
  "list",
  "show",
  "stats",
  "work",
  "restart",
  "retry",
  "boost",
  "cancel",
  "clear",
  "purge",
  "types",
  "export",
  "doctor",
  "test",
  "web",
  "web-user",
] as const;

export type CommandName = (typeof COMMAND_NAMES)[number];
