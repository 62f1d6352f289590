/**
 * What each placeholder of a command template may receive, and which job types may run the
 * template (SECURITY.md, "Subprocesses"). A job row only ever supplies values; whether a value
 * is a path to read, a path to write or text of a given shape is the config's word, and a
 * placeholder the config said nothing about gets the narrowest reading: plain text that
 * cannot name a file outside the working folder nor pass for an option.
 */

/** The job types that run command templates. */
export const TEMPLATE_USERS = ["command", "create_alternative_file", "create_download_file"] as const;
export type TemplateUser = (typeof TEMPLATE_USERS)[number];

/** Placeholders each type fills itself, from paths it has already checked; a row can never give them. */
export const FILLED_BY: Record<TemplateUser, readonly string[]> = {
  command: [],
  create_alternative_file: ["source", "output"],
  create_download_file: ["output"],
};

/** Filled by the runner for every template: the job's ref and its user column. */
export const RUNNER_FILLED: readonly string[] = ["ref", "user"];

export type Declaration = "read" | "write" | { pattern: string; maxLength?: number };

/** What an undeclared placeholder accepts: no / or \, no leading - or ., nothing a shell acts on. */
export const PLAIN_TEXT = /^[\p{L}\p{N}_][\p{L}\p{N}_.@+,-]{0,255}$/u;
export const PLAIN_TEXT_WORDS = "plain text (letters, digits and _ . @ + , -, starting with a letter, digit or _; at most 256 characters)";

/** The parts of a template this module reads (the config schema's shape). */
export interface DeclaringTemplate {
  argv: string[];
  args?: Record<string, Declaration>;
  pathArgs?: Record<string, "read" | "write">;
  usableBy?: TemplateUser[];
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Each placeholder name the argv uses, once, in order. */
export function placeholdersOf(argv: string[]): string[] {
  return [...new Set(argv.flatMap((element) => [...element.matchAll(PLACEHOLDER)].map((m) => m[1]!)))];
}

/** `args` first; `pathArgs` is the older spelling of a "read"/"write" declaration. */
export function declarationOf(template: DeclaringTemplate, name: string): Declaration | undefined {
  if (template.args && Object.hasOwn(template.args, name)) return template.args[name];
  if (template.pathArgs && Object.hasOwn(template.pathArgs, name)) return template.pathArgs[name];
  return undefined;
}

/** A template written before declarations existed: read the safe way, with a warning. */
export function isOldStyle(template: DeclaringTemplate): boolean {
  return template.args === undefined && template.usableBy === undefined;
}

/**
 * The types that may run the template. Without usableBy: a template that uses {source} or
 * {output} undeclared is meant for the types that fill them, never for rows to fill; any other
 * template, for all three (each of its placeholders is checked whoever fills it).
 */
export function templateUsers(template: DeclaringTemplate): TemplateUser[] {
  if (template.usableBy) return template.usableBy;
  const handlerOnly = handlerOnlyPlaceholders(template);
  return TEMPLATE_USERS.filter((type) => handlerOnly.every((name) => FILLED_BY[type].includes(name)));
}

/** {source} and {output} as the template uses them without declaring them. */
function handlerOnlyPlaceholders(template: DeclaringTemplate): string[] {
  const used = placeholdersOf(template.argv);
  return ["source", "output"].filter((name) => used.includes(name) && declarationOf(template, name) === undefined);
}

/** Placeholders a row would fill for `type`, with no declaration saying what they take. */
export function undeclaredRowPlaceholders(template: DeclaringTemplate, type: TemplateUser): string[] {
  return placeholdersOf(template.argv).filter(
    (name) => !RUNNER_FILLED.includes(name) && !FILLED_BY[type].includes(name) && declarationOf(template, name) === undefined,
  );
}

/** Undeclared placeholders some allowed type leaves to the row. */
function undeclaredAnywhere(template: DeclaringTemplate): string[] {
  const users = templateUsers(template);
  return placeholdersOf(template.argv).filter((name) => users.some((type) => undeclaredRowPlaceholders(template, type).includes(name)));
}

/**
 * What is wrong with a template that declares (args or usableBy): a placeholder a row would
 * fill must be declared. Undefined when nothing is; old-style templates are never refused.
 */
export function declarationProblem(template: DeclaringTemplate): string | undefined {
  if (isOldStyle(template)) return undefined;
  const reserved = Object.keys(template.args ?? {}).filter((name) => RUNNER_FILLED.includes(name));
  if (reserved.length) return `declares ${reserved.map((n) => `{${n}}`).join(" and ")}, which the runner fills (the job's ref and user)`;
  const missing = undeclaredAnywhere(template);
  if (missing.length === 0) return undefined;
  const users = templateUsers(template);
  return `does not declare ${missing.map((n) => `{${n}}`).join(", ")}, which ${users.join(" / ")} rows would fill: add each to args as "read", "write" or { "pattern": … }`;
}

/** The load-time warning of an old-style template that leaves something to the safe reading; undefined when nothing is. */
export function declarationWarning(name: string, template: DeclaringTemplate): string | undefined {
  if (!isOldStyle(template)) return undefined;
  const handlerOnly = handlerOnlyPlaceholders(template);
  const text = undeclaredAnywhere(template);
  if (handlerOnly.length === 0 && text.length === 0) return undefined;
  const read: string[] = [];
  const add: string[] = [];
  if (handlerOnly.length) {
    const users = templateUsers(template);
    read.push(
      `only ${users.join(" and ")} may run it (${handlerOnly.map((n) => `{${n}}`).join(" and ")} undeclared: the job type fills ${handlerOnly.length > 1 ? "them" : "it"})`,
    );
    add.push(`"usableBy": ${JSON.stringify(users)}`);
  }
  if (text.length) {
    read.push(`${text.map((n) => `{${n}}`).join(", ")} take${text.length > 1 ? "" : "s"} ${PLAIN_TEXT_WORDS} only`);
    add.push(`"args": { ${text.map((n) => `"${n}": "read" | "write" | { "pattern": "…" }`).join(", ")} }`);
  }
  return `command template "${name}" does not declare what its placeholders take, so ${read.join("; ")}; to say so, add ${add.join(" and ")}`;
}
