import { z } from "zod";
import { permissionName } from "./schema-web.js";
import { declarationProblem, TEMPLATE_USERS } from "./template-declarations.js";

/** The config's sections about job types and command templates (schema.ts joins them). */

const positiveInt = z.number().int().min(1);

export const typeOptionsSchema = z
  .object({
    concurrency: positiveInt.optional().describe("at most this many running jobs of the type, across all hosts"),
    timeoutSeconds: z
      .number()
      .positive()
      .max(7 * 24 * 3600)
      .optional()
      .describe(
        "one attempt's time limit; unset: the handler's (noop 900, command 600), else 3600. A command template's own `timeoutSeconds` governs its jobs; this bounds `argv` jobs",
      ),
    maxAttempts: z.number().int().min(1).max(100).optional().describe("attempts when the row's `max_attempts` is NULL; unset: the handler's, else 3"),
    backoff: z
      .object({
        initialSeconds: z
          .number()
          .min(0)
          .max(86_400)
          .default(10)
          .describe("delay before the first retry; the delay is `initialSeconds · 2^(attempt−1)`, ±20 % jitter"),
        maxSeconds: z
          .number()
          .min(0)
          .max(7 * 86_400)
          .default(3600)
          .describe("cap of the retry delay"),
      })
      .strict()
      .optional(),
    onLost: z.enum(["retry", "fail"]).optional().describe("a job whose worker vanished (its lease expired): `retry` (unset) or `fail`"),
    hidden: z
      .boolean()
      .optional()
      .describe(
        "`true`: left out of `types` (unless named), of `doctor`'s tool checks and of the jobs page's create menu (which then refuses it); jobs of the type are still claimed and run. Unset: false",
      ),
    createPermissions: z
      .array(permissionName)
      .optional()
      .describe("permissions a user of the jobs page needs to create a job of the type, besides `create_job`"),
    cancelPermissions: z
      .array(permissionName)
      .optional()
      .describe("permissions a user of the jobs page needs to cancel a job of the type, besides `cancel_job`"),
    /** false: this host never claims jobs of the type; they wait for a host that runs it. */
    enabled: z
      .boolean()
      .optional()
      .describe(
        "`false`: this host never claims the type (cron runs, `run --job`, `work`); its rows stay pending for hosts that run it. `doctor` and `types` say so. Unset: true",
      ),
  })
  .strict();

const placeholderName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "placeholder names use letters, digits and _");
const placeholderDeclaration = z.union([
  z.enum(["read", "write"]),
  z
    .object({
      pattern: z.string().refine(compiles, "must be a JavaScript regular expression (u flag)"),
      maxLength: z.number().int().min(1).max(65_536).optional(),
    })
    .strict(),
]);

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, "u");
    return true;
  } catch {
    return false;
  }
}

export const commandTemplateSchema = z
  .object({
    argv: z
      .array(z.string())
      .min(1, "needs at least the program name")
      .describe(
        "the command for the `command`, `create_alternative_file` and `create_download_file` types: program and arguments, no shell, with `{placeholders}`",
      ),
    timeoutSeconds: z
      .number()
      .positive()
      .max(7 * 24 * 3600)
      .default(600)
      .describe("its process group is killed after this (SIGTERM, then SIGKILL 3 s later), and the job is retried"),
    cwd: z.string().optional().describe("working directory; unset: the runner's"),
    /** Exit codes that mean "try again later" (everything else non-zero fails the job at once). */
    transientExitCodes: z.array(z.number().int()).default([]).describe('exit codes that mean "retry later"; any other non-zero exit fails the job at once'),
    /**
     * What each placeholder takes (SECURITY.md, "Subprocesses"): "read" / "write", a path that
     * must lie under paths.readRoots / writeRoots (resolved, symlinks too, before the command
     * runs), or text that must match a pattern (the whole value).
     */
    args: z
      .record(placeholderName, placeholderDeclaration)
      .optional()
      .describe(
        'what each placeholder takes: `"read"` / `"write"`, a path under `paths.readRoots` / `paths.writeRoots` (symlinks resolved), or `{ "pattern": regex, "maxLength"?: n }`, text the pattern matches whole; see [Command templates](handlers.md#command-templates)',
      ),
    /** The older spelling of args' "read" / "write"; still read. */
    pathArgs: z
      .record(z.string(), z.enum(["read", "write"]))
      .optional()
      .describe('the older spelling of `args`\' `"read"` / `"write"`; still read'),
    /** The job types that may run this template; see templateUsers() for the default. */
    usableBy: z
      .array(z.enum(TEMPLATE_USERS))
      .min(1)
      .optional()
      .describe(
        "the types that may run the template. Unset: a template that uses `{source}` or `{output}` undeclared is only for the types that fill them; any other is for all three",
      ),
    /** Variables of the runner's environment the command also gets (it has only PATH, HOME, LANG, LC_ALL, TZ and TMPDIR otherwise). */
    env: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a variable name"))
      .max(64)
      .default([])
      .describe("variables of the runner's environment it also gets (it has only `PATH`, `HOME`, `LANG`, `LC_ALL`, `TZ`, `TMPDIR` otherwise)"),
  })
  .strict()
  .superRefine((template, context) => {
    const problem = declarationProblem(template);
    if (problem) context.addIssue({ code: "custom", message: problem, path: ["args"] });
  });
