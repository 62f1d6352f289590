import assert from "node:assert/strict";
import { test } from "node:test";
import { COMMAND_NAMES } from "../../src/cli/command-names.js";
import { buildProgram, commandOf } from "../../src/cli/index.js";

/**
 * The CLI loads only the module of the command a command line names (cli/index.ts): reading
 * that name must agree with commander's reading, and the list of names with the commands.
 */

test("the command a command line names: after the program's own options; run by default; all for help or an unknown word", () => {
  const cases: Array<[string[], string | undefined]> = [
    [[], "run"],
    [["--quiet"], "run"],
    [["-q", "--max-jobs", "4"], "run"],
    [["run", "--quiet"], "run"],
    [["--config", "/etc/oj.json", "list", "--status", "failed"], "list"],
    [["--config=/etc/oj.json", "work"], "work"],
    [["--log-format", "json", "-qv", "show", "12"], "show"],
    [["--config", "list"], "run"],
    [["--help"], undefined],
    [["-V"], undefined],
    [["help", "list"], undefined],
    [["lsit"], undefined],
  ];
  for (const [args, command] of cases) assert.equal(commandOf(args), command, `offline-jobs ${args.join(" ")}`);
});

test("the list of command names is the program's commands, in order", async () => {
  const program = await buildProgram();
  assert.deepEqual(
    program.commands.map((c) => c.name()),
    [...COMMAND_NAMES],
  );
  const one = await buildProgram("list");
  assert.deepEqual(
    one.commands.map((c) => c.name()),
    ["run", "list"],
    "a named command is loaded beside run, the default",
  );
});
