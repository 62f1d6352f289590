/**
 * A job type's form, generated from the JSON Schema of its job_data (what `types --json`
 * prints), and the job_data a submitted form makes. The form only shapes the input: the
 * server then checks job_data against the handler's own schema (check-new-job.ts), so a
 * refusal reads exactly as the command line's `add` gives it.
 */
export type FieldKind = "text" | "number" | "choice" | "boolean" | "json";

export interface FormField {
  name: string;
  kind: FieldKind;
  required: boolean;
  /** For a choice: the values offered. */
  choices?: string[];
  /** A short hint from the schema: bounds, lengths, the default, the description. */
  hint: string;
}

type Schema = Record<string, unknown>;

const isObject = (value: unknown): value is Schema => value !== null && typeof value === "object" && !Array.isArray(value);

/** The JSON types a schema accepts, looking through anyOf. */
function typesOf(schema: Schema): string[] {
  if (typeof schema.type === "string") return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.filter((t): t is string => typeof t === "string");
  if (Array.isArray(schema.anyOf)) return schema.anyOf.filter(isObject).flatMap(typesOf);
  return [];
}

function hintOf(schema: Schema): string {
  const parts: string[] = [];
  if (typeof schema.description === "string") parts.push(schema.description);
  if (typeof schema.minimum === "number" && typeof schema.maximum === "number") parts.push(`${schema.minimum}–${schema.maximum}`);
  else if (typeof schema.minimum === "number") parts.push(`at least ${schema.minimum}`);
  else if (typeof schema.maximum === "number") parts.push(`at most ${schema.maximum}`);
  if (typeof schema.maxLength === "number") parts.push(`at most ${schema.maxLength} characters`);
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
  return parts.join(" · ");
}

function fieldOf(name: string, schema: Schema, required: boolean): FormField {
  const types = typesOf(schema);
  const hint = hintOf(schema);
  if (Array.isArray(schema.enum) && schema.enum.every((value) => typeof value === "string")) {
    return { name, kind: "choice", required, choices: schema.enum as string[], hint };
  }
  if (types.length === 1 && types[0] === "boolean") return { name, kind: "boolean", required, hint };
  if (types.length > 0 && types.every((t) => t === "string" || t === "number" || t === "integer")) {
    const numeric = types.some((t) => t === "number" || t === "integer");
    return {
      name,
      kind: numeric ? "number" : "text",
      required,
      hint: numeric && types.includes("string") ? `${hint ? `${hint} · ` : ""}a number or text` : hint,
    };
  }
  return { name, kind: "json", required, hint: `${hint ? `${hint} · ` : ""}JSON` };
}

/** The form's fields: one per top-level property; a schema that is not an object of properties is one JSON field for the whole job_data. */
export function formFields(schema: unknown): FormField[] {
  if (!isObject(schema) || !isObject(schema.properties)) return [{ name: "", kind: "json", required: false, hint: "the whole job_data, as JSON" }];
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  return Object.entries(schema.properties)
    .filter(([, property]) => isObject(property))
    .map(([name, property]) => fieldOf(name, property as Schema, required.has(name)));
}

/** The form parameter of a field (prefixed, so that no property can collide with the form's own fields). */
export function inputName(field: FormField): string {
  return field.name === "" ? "job_data" : `f.${field.name}`;
}

/** A number when the text is one (as JSON writes it), else the text itself (the schema then says what is wrong). */
function numberOrText(text: string): number | string {
  return /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(text) ? Number(text) : text;
}

/**
 * job_data from the submitted values: empty fields are left out (the schema's defaults apply),
 * numbers are numbers, booleans are booleans, JSON fields are parsed (a parse error is a
 * problem sentence naming the field).
 */
export function jobDataFrom(fields: FormField[], value: (name: string) => string | undefined): { data: unknown } | { problem: string } {
  const data: Record<string, unknown> = {};
  for (const field of fields) {
    const text = (value(inputName(field)) ?? "").trim();
    if (text === "") continue;
    let parsed: unknown;
    switch (field.kind) {
      case "text":
        parsed = text;
        break;
      case "number":
        parsed = numberOrText(text);
        break;
      case "choice":
        parsed = text;
        break;
      case "boolean":
        parsed = text === "true" ? true : text === "false" ? false : text;
        break;
      case "json":
        try {
          parsed = JSON.parse(text);
        } catch (error) {
          return { problem: `${field.name || "job_data"}: is not valid JSON (${(error as Error).message.slice(0, 120)})` };
        }
    }
    if (field.name === "") return { data: parsed };
    data[field.name] = parsed;
  }
  return { data };
}
