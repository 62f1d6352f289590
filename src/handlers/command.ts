import { z } from "zod";
import { PermanentError, TransientError } from "../errors.js";
import { defineHandler, type JobContext } from "./handler.js";
import { fillTemplate } from "./command-template.js";

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
      args: z.record(z.string(), z.union([z.string().max(65_536), z.number(), z.boolean()])).default({}),
      /** Only when the config sets allowArbitraryCommands. */
      argv: z.array(z.string().max(65_536)).min(1).max(1000).optional(),
    })
    .strict()
    .refine((d) => (d.command === undefined) !== (d.argv === undefined), "give either command (a template name) or argv, not both"),
  defaults: { timeoutSeconds: 600 },
  jobTimeoutSeconds: (data, config) => (data.command && Object.hasOwn(config.commands, data.command) ? config.commands[data.command]!.timeoutSeconds : undefined),
  async run(context, data) {
    const args = await checkPathArgs(context, data);
    const { argv, timeoutSeconds, cwd, transientExitCodes, label } = resolveCommand(context.config, { ...data, args }, {
      ref: context.ref,
      user: context.user ?? "",
    });
    context.log.info(`running ${label}: ${JSON.stringify(argv)}`);
    const outcome = await context.exec(argv, { timeoutMs: timeoutSeconds * 1000, cwd });
    if (outcome.startError) throw new PermanentError(`${label} could not start: ${outcome.startError}`);
    if (outcome.cancelled) throw context.signal.reason ?? new TransientError(`${label} was stopped`);
    if (outcome.timedOut) throw new TransientError(`${label} timed out after ${timeoutSeconds} s and was killed`);
    if (outcome.signal) throw new TransientError(`${label} was killed by ${outcome.signal}`);
    if (outcome.exitCode !== 0) {
      const message = `${label} exited with code ${outcome.exitCode}`;
      if (transientExitCodes.includes(outcome.exitCode ?? -1)) throw new TransientError(message);
      throw new PermanentError(message);
    }
    return { exitCode: 0 };
  },
});

/** Arguments the template declares as paths must lie under the roots (DESIGN §7). */
async function checkPathArgs(context: JobContext, data: Data): Promise<Data["args"]> {
  const template = data.command && Object.hasOwn(context.config.commands, data.command) ? context.config.commands[data.command] : undefined;
  if (!template) return data.args;
  const args = { ...data.args };
  for (const [key, role] of Object.entries(template.pathArgs)) {
    if (!Object.hasOwn(args, key)) continue; // reported as a missing argument by fillTemplate
    const value = String(args[key]);
    args[key] = role === "read" ? await context.paths.readable(value) : await context.paths.writable(value);
  }
  return args;
}

type Data = { command?: string; args: Record<string, string | number | boolean>; argv?: string[] };

function resolveCommand(config: import("../config/schema.js").Config, data: Data, fixed: Record<string, string | number>) {
  if (data.argv) {
    if (!config.allowArbitraryCommands) {
      throw new PermanentError("job_data gives argv, but this config does not allow arbitrary commands (allowArbitraryCommands)");
    }
    return { argv: data.argv, timeoutSeconds: 600, cwd: undefined, transientExitCodes: [] as number[], label: `command ${data.argv[0]}` };
  }
  const name = data.command!;
  const template = Object.hasOwn(config.commands, name) ? config.commands[name] : undefined;
  if (!template) {
    const known = Object.keys(config.commands);
    throw new PermanentError(
      `unknown command template "${name}": the config defines ${known.length ? known.map((k) => `"${k}"`).join(", ") : "none"}`,
    );
  }
  const argv = fillTemplate(template.argv, { ...data.args, ...fixed }, `command template "${name}"`);
  return { argv, timeoutSeconds: template.timeoutSeconds, cwd: template.cwd, transientExitCodes: template.transientExitCodes, label: `command "${name}"` };
}
