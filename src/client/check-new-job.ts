import type { Config } from "../config/schema.js";
import { TEMPLATE_USERS, templateUsers, type TemplateUser } from "../config/template-declarations.js";
import type { NewJob } from "../queue/enqueue.js";
import { columnProblem } from "../queue/new-job-limits.js";
import { quote } from "../quote.js";
import { didYouMean } from "../suggest.js";
import type { Registry } from "../handlers/registry.js";

/** Why a new job would not run here: `forceable` when another host's config might run it. */
export interface NewJobProblem {
  message: string;
  forceable: boolean;
}

/**
 * The rules every new job meets before it is added, by `add` and by enqueue() alike: its
 * fields fit their columns, its type has a handler here, its job_data passes that handler's
 * schema, and a template-running type names a template this config defines and opens to it.
 * A job of a type or template this config does not know would otherwise wait for ever; that
 * problem is `forceable` (a host whose plugins or templates differ may run it).
 */
export function newJobProblem(job: NewJob, registry: Registry, commands: Config["commands"]): NewJobProblem | undefined {
  const column = columnProblem(job);
  if (column) return { message: column, forceable: false };
  const handler = registry.get(job.type);
  if (!handler) {
    const types = registry.selected();
    return { message: `unknown job type ${quote(job.type)}${didYouMean(job.type, types)}: this config handles ${types.join(", ")}`, forceable: true };
  }
  const parsed = handler.schema.safeParse(job.data ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { message: `job_data for ${job.type} is invalid: ${issue.path.join(".") || "data"}: ${issue.message}`, forceable: false };
  }
  return templateProblem(job.type, (parsed.data as { command?: unknown } | undefined)?.command, commands);
}

function templateProblem(type: string, name: unknown, commands: Config["commands"]): NewJobProblem | undefined {
  if (typeof name !== "string" || !(TEMPLATE_USERS as readonly string[]).includes(type)) return undefined;
  const names = Object.keys(commands);
  if (!Object.hasOwn(commands, name)) {
    return {
      message: `unknown command template ${quote(name)}${didYouMean(name, names)}: this config defines ${names.length ? names.join(", ") : "none"}`,
      forceable: true,
    };
  }
  const users = templateUsers(commands[name]!);
  if (users.includes(type as TemplateUser)) return undefined;
  return {
    message: `command template ${quote(name)} is not for ${type} jobs: only ${users.join(" and ") || "no type"} may run it (its usableBy)`,
    forceable: true,
  };
}
