import { z } from "zod";
import { PermanentError } from "../errors.js";
import { runArgv, runTemplate, templateArgsSchema, templateTimeout } from "./command-template.js";
import { defineHandler } from "../job/handler.js";

/**
 * Runs a command template from the config: a job row names the template and gives its
 * arguments, never the program. Placeholders fill whole argv elements (or parts of one);
 * there is no shell, so `; rm -rf /` in an argument is just an odd argument.
 */
export default defineHandler({
  name: "command",
  description: "Runs a command template from the config (commands.<name>.argv) with arguments from job_data; no shell.",
  schema: z
    .object({
      command: z.string().min(1).max(100).optional(),
      args: templateArgsSchema,
      /** Only when the config sets allowArbitraryCommands. */
      argv: z.array(z.string().max(65_536)).min(1).max(1000).optional(),
    })
    .strict()
    .refine((d) => (d.command === undefined) !== (d.argv === undefined), "give either command (a template name) or argv, not both"),
  // argv jobs (allowArbitraryCommands) are bounded by this, or types.command.timeoutSeconds.
  defaults: { timeoutSeconds: 600 },
  jobTimeoutSeconds: (data, config) => templateTimeout(config.commands, data.command),
  async run(context, data) {
    if (data.command !== undefined) {
      await runTemplate(context, { name: data.command, type: "command", args: data.args });
      return { exitCode: 0 };
    }
    if (!context.config.allowArbitraryCommands) {
      throw new PermanentError("job_data gives argv, but this config does not allow arbitrary commands (allowArbitraryCommands)");
    }
    await runArgv(context, data.argv!, { label: `command ${data.argv![0]}` });
    return { exitCode: 0 };
  },
});
