import { z } from "zod";
import { limitSentence } from "../job/child-sandbox.js";
import { PermanentError, TransientError } from "../errors.js";
import { quote } from "../quote.js";
import {
  declarationOf,
  FILLED_BY,
  PLAIN_TEXT,
  PLAIN_TEXT_WORDS,
  placeholdersOf,
  RUNNER_FILLED,
  templateUsers,
  undeclaredRowPlaceholders,
  type Declaration,
  type TemplateUser,
} from "../config/template-declarations.js";
import type { JobContext } from "../job/handler.js";

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export type TemplateArgs = Record<string, string | number | boolean>;

/** More arguments than any template has placeholders for; bounds what a row can make the runner hold. */
export const MAX_TEMPLATE_ARGS = 256;

/**
 * job_data.args of the types that run command templates: names a placeholder could have,
 * values that each become (part of) one argv element, bounded so a row cannot blow up argv.
 */
export const templateArgsSchema = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "argument names are placeholder names: letters, digits and _, at most 64"),
    z.union([z.string().max(65_536), z.number(), z.boolean()]),
  )
  .refine((args) => Object.keys(args).length <= MAX_TEMPLATE_ARGS, `at most ${MAX_TEMPLATE_ARGS} arguments`)
  .default({});

/**
 * Fills `{name}` placeholders in each argv element from `values`. A value only ever becomes
 * (part of) the one element it stands in: no splitting, no shell, no re-scanning of the
 * substituted text for further placeholders. A missing value fails the job permanently.
 */
export function fillTemplate(argv: string[], values: TemplateArgs, what: string): string[] {
  return argv.map((element) =>
    element.replace(PLACEHOLDER, (_, key: string) => {
      if (!Object.hasOwn(values, key)) throw new PermanentError(`${what} needs the argument "${key}", which job_data.args does not give`);
      const value = String(values[key]);
      if (value.includes("\0")) throw new PermanentError(`argument "${key}" contains a NUL character`);
      return value;
    }),
  );
}

/**
 * Runs the config's command template `name` for a job of `type`: `args` come from the row,
 * `filled` from the handler (paths it has already checked). Every placeholder a row fills is
 * checked against the template's declaration (a path under the roots, or text of the declared
 * shape; undeclared: plain text) before anything runs; {ref} and {user} come from the runner.
 */
export async function runTemplate(context: JobContext, how: { name: string; type: TemplateUser; args: TemplateArgs; filled?: TemplateArgs }): Promise<void> {
  const { name, type, args } = how;
  const { commands } = context.config;
  const template = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!template) {
    const known = Object.keys(commands);
    throw new PermanentError(`unknown command template ${quote(name)}: the config defines ${known.length ? known.map((k) => `"${k}"`).join(", ") : "none"}`);
  }
  const users = templateUsers(template);
  if (!users.includes(type)) {
    throw new PermanentError(`command template "${name}" is not for ${type} jobs: only ${users.join(" and ")} may run it (its usableBy)`);
  }
  for (const key of [...RUNNER_FILLED, ...FILLED_BY[type]]) {
    if (Object.hasOwn(args, key)) {
      const filler = RUNNER_FILLED.includes(key) ? "the runner" : type;
      throw new PermanentError(`job_data.args may not give "${key}": ${filler} fills {${key}} itself`);
    }
  }
  const values: TemplateArgs = {};
  const program = placeholdersOf(template.argv.slice(0, 1));
  for (const key of undeclaredRowPlaceholders(template, type)) {
    if (program.includes(key))
      throw new PermanentError(`command template "${name}" takes its program from {${key}}, which it does not declare, so no row may fill it`);
  }
  for (const key of placeholdersOf(template.argv)) {
    if (RUNNER_FILLED.includes(key) || FILLED_BY[type].includes(key) || !Object.hasOwn(args, key)) continue; // a missing one: fillTemplate says so
    values[key] = await checkArgument(context, key, String(args[key]), declarationOf(template, key));
  }
  const argv = fillTemplate(template.argv, { ...values, ...how.filled, ref: context.ref, user: context.user ?? "" }, `command template "${name}"`);
  await runArgv(context, argv, {
    label: `command "${name}"`,
    timeoutSeconds: template.timeoutSeconds,
    cwd: template.cwd,
    transientExitCodes: template.transientExitCodes,
    env: template.env,
  });
}

/** A row's value as its declaration allows it: a resolved path under the roots, or text of the declared shape. */
async function checkArgument(context: JobContext, key: string, value: string, declaration: Declaration | undefined): Promise<string> {
  if (value.includes("\0")) throw new PermanentError(`argument "${key}" contains a NUL character`);
  if (declaration === "read") return context.paths.readable(value);
  if (declaration === "write") return context.paths.writable(value);
  if (declaration === undefined) {
    if (!PLAIN_TEXT.test(value)) throw new PermanentError(`argument "${key}" must be ${PLAIN_TEXT_WORDS}, which ${quote(value, 80)} is not`);
    return value;
  }
  if (declaration.maxLength !== undefined && value.length > declaration.maxLength) {
    throw new PermanentError(`argument "${key}" is ${value.length} characters long, more than the ${declaration.maxLength} its template allows`);
  }
  if (!new RegExp(`^(?:${declaration.pattern})$`, "u").test(value)) {
    throw new PermanentError(`argument "${key}" must match ${quote(declaration.pattern, 80)}, which ${quote(value, 80)} does not`);
  }
  return value;
}

/** Runs argv (no shell) and turns how it ended into success or a Permanent/TransientError. */
export async function runArgv(
  context: JobContext,
  argv: string[],
  /** Without timeoutSeconds, the job's own timeout (its AbortSignal) is the only limit. */
  how: { label: string; timeoutSeconds?: number; cwd?: string; transientExitCodes?: number[]; env?: string[] },
): Promise<void> {
  const { label, timeoutSeconds } = how;
  context.log.info(`running ${label}: ${JSON.stringify(argv)}`);
  const outcome = await context.exec(argv, { timeoutMs: timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000, cwd: how.cwd, env: how.env });
  if (outcome.startError) throw new PermanentError(`${label} could not start: ${outcome.startError}`);
  if (outcome.cancelled) throw context.signal.reason ?? new TransientError(`${label} was stopped`);
  if (outcome.timedOut) throw new TransientError(`${label} timed out after ${timeoutSeconds} s and was killed`);
  if (outcome.limit) throw new PermanentError(limitSentence(label, outcome.limit));
  if (outcome.signal) throw new TransientError(`${label} was killed by ${outcome.signal}`);
  if (outcome.exitCode !== 0) {
    const message = `${label} exited with code ${outcome.exitCode}`;
    if (how.transientExitCodes?.includes(outcome.exitCode ?? -1)) throw new TransientError(message);
    throw new PermanentError(message);
  }
}

/** The template's own time limit, for Handler.jobTimeoutSeconds. */
export function templateTimeout(commands: Record<string, { timeoutSeconds: number }>, name: string | undefined): number | undefined {
  return name !== undefined && Object.hasOwn(commands, name) ? commands[name]!.timeoutSeconds : undefined;
}
