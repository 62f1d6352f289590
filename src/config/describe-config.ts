import { z } from "zod";
import { configSchema } from "./schema.js";

/**
 * docs/configuration.md, written from the config schema itself so that the reference cannot
 * drift from what the loader accepts: every key with its type, its default and the text its
 * `.describe()` / `.meta()` gives. `npm run docs:config` writes the file;
 * test/config/configuration-doc.test.ts fails when the file and this function disagree.
 */

/** The part of zod 4's schema definition this walk reads (see schema-keys.ts). */
interface Definition {
  type: string;
  shape?: Record<string, z.ZodType>;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string>;
  values?: unknown[];
  defaultValue?: unknown;
}

/** What `.meta()` may carry besides the description: a default that depends on the machine, written out. */
interface DocMeta {
  description?: string;
  defaultText?: string;
}

/** One documented key: its dotted path (`<name>` for a record's keys), type, default and meaning. */
export interface ConfigKey {
  path: string;
  type: string;
  default: string;
  description: string;
}

/** Placeholders for the keys of the records of sections, as people write them. */
const RECORD_KEY: Record<string, string> = { commands: "<name>", types: "<type>", ffmpegPresets: "<name>", "web.users": "<user>" };

const INTRO = `A JSON file; keys starting with \`//\` are comments. Relative paths are resolved against the
config file's folder. Unknown keys are errors (a misspelt \`maxjobs\` is reported by name).
\`config.example.json\` shows every option. The config is found by \`--config PATH\`, else
\`$OFFLINE_JOBS_CONFIG\`, else \`./config.json\`; \`$OFFLINE_JOBS_DATABASE_URL\` replaces
\`database.url\`. The file is trusted ([SECURITY.md](../SECURITY.md)): keep it mode 600 when it
holds a secret; a config its group or other users can write is refused.`;

/** The Markdown of docs/configuration.md. */
export function describeConfig(schema: z.ZodType = configSchema): string {
  const sections: string[] = [];
  const top: ConfigKey[] = [];
  const shape = objectShape(schema) ?? {};
  for (const [name, child] of Object.entries(shape)) {
    const keys = collect(child, name);
    const isSection = keys.length > 1 || keys[0]?.path !== name;
    if (!isSection) {
      top.push(...keys);
      continue;
    }
    const about = descriptionOf(child);
    sections.push([`## ${name}`, "", ...(about ? [about, ""] : []), table(keys)].join("\n"));
  }
  return [
    "# Configuration",
    "",
    "<!-- Generated from src/config/schema.ts by `npm run docs:config`: edit the schema's descriptions, not this file. -->",
    "",
    INTRO,
    "",
    "## Top-level settings",
    "",
    table(top),
    "",
    sections.join("\n\n"),
    "",
  ].join("\n");
}

/** Every documented key under `schema` at `path`, leaves only (a section's own description heads its table). */
export function collect(schema: z.ZodType, path: string): ConfigKey[] {
  const definition = unwrap(schema);
  const record = definition?.type === "record" ? definitionOf(definition.valueType) : undefined;
  const recordValue = record ? unwrap(definition!.valueType!) : undefined;
  if (definition?.type === "object" && definition.shape) {
    return Object.entries(definition.shape).flatMap(([key, child]) => collect(child, `${path}.${key}`));
  }
  const placeholder = RECORD_KEY[path];
  if (placeholder && recordValue?.type === "object" && recordValue.shape) {
    return Object.entries(recordValue.shape).flatMap(([key, child]) => collect(child, `${path}.${placeholder}.${key}`));
  }
  return [{ path, type: typeOf(schema), default: defaultOf(schema), description: descriptionOf(schema) ?? "" }];
}

function table(keys: ConfigKey[]): string {
  const rows = keys.map((key) => `| \`${key.path}\` | ${cell(key.type)} | ${cell(key.default)} | ${cell(key.description)} |`);
  return ["| key | type | default | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

/** The description on any layer of wrappers, outermost first. */
function descriptionOf(schema: z.ZodType): string | undefined {
  return layers(schema)
    .map((layer) => metaOf(layer).description)
    .find((text) => text !== undefined);
}

function metaOf(schema: z.ZodType): DocMeta {
  return (z.globalRegistry.get(schema) as DocMeta | undefined) ?? {};
}

function defaultOf(schema: z.ZodType): string {
  for (const layer of layers(schema)) {
    const text = metaOf(layer).defaultText;
    if (text !== undefined) return text;
    const definition = definitionOf(layer);
    if (definition?.type === "default") return showValue(definition.defaultValue);
    if (definition?.type === "optional") return "unset";
  }
  return "required";
}

function showValue(value: unknown): string {
  return `\`${JSON.stringify(value)}\``;
}

/** A short human reading of the schema's type: "integer, 1–64", "array of string", `"retry" | "fail"`. */
function typeOf(schema: z.ZodType): string {
  const inner = innermost(schema);
  const definition = definitionOf(inner);
  switch (definition?.type) {
    case "string":
      return "string";
    case "boolean":
      return "boolean";
    case "number":
      return numberType(inner as unknown as z.ZodNumber);
    case "enum":
      return Object.values(definition.entries ?? {})
        .map((value) => JSON.stringify(value))
        .join(" | ");
    case "literal":
      return (definition.values ?? []).map((value) => JSON.stringify(value)).join(" | ");
    case "array":
      return `array of ${typeOf(definition.element!)}`;
    case "record":
      return `map of name → ${typeOf(definition.valueType!)}`;
    case "union":
      return (definition.options ?? []).map((option) => typeOf(option)).join(" or ");
    case "object":
      return `{ ${Object.keys(definition.shape ?? {}).join(", ")} }`;
    default:
      return definition?.type ?? "unknown";
  }
}

/** "integer, 1–64", "number > 0": the tightest bounds among the schema's checks. */
function numberType(schema: z.ZodNumber): string {
  const kind = schema.isInt ? "integer" : "number";
  const checks = ((schema as unknown as { _zod: { def: { checks?: Array<{ _zod: { def: BoundCheck } }> } } })._zod.def.checks ?? []).map(
    (check) => check._zod.def,
  );
  const tightest = (name: string, better: (a: number, b: number) => boolean) =>
    checks
      .filter((check) => check.check === name)
      .reduce<BoundCheck | undefined>((best, check) => (!best || better(check.value!, best.value!) ? check : best), undefined);
  const low = tightest("greater_than", (a, b) => a > b);
  const high = tightest("less_than", (a, b) => a < b);
  if (low?.inclusive && high?.inclusive) return `${kind}, ${low.value}–${high.value}`;
  const parts: string[] = [];
  if (low) parts.push(`${low.inclusive ? "≥" : ">"} ${low.value}`);
  if (high) parts.push(`${high.inclusive ? "≤" : "<"} ${high.value}`);
  return [kind, parts.join(", ")].filter(Boolean).join(" ");
}

/** A bound check in zod 4's definition: greater_than / less_than, with its value. */
interface BoundCheck {
  check: string;
  value?: number;
  inclusive?: boolean;
}

function definitionOf(schema: z.ZodType | undefined): Definition | undefined {
  return (schema as unknown as { _zod?: { def: Definition } } | undefined)?._zod?.def;
}

/** The schema and every wrapper inside it (.default(), .optional(), pipes), outermost first. */
function layers(schema: z.ZodType): z.ZodType[] {
  const found: z.ZodType[] = [schema];
  for (let depth = 0; depth < 10; depth++) {
    const definition = definitionOf(found.at(-1));
    const inner = definition?.innerType ?? (definition?.type === "pipe" ? definition.in : undefined);
    if (!inner) break;
    found.push(inner);
  }
  return found;
}

function innermost(schema: z.ZodType): z.ZodType {
  return layers(schema).at(-1)!;
}

function unwrap(schema: z.ZodType): Definition | undefined {
  return definitionOf(innermost(schema));
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const definition = unwrap(schema);
  return definition?.type === "object" ? definition.shape : undefined;
}
