/**
 * A JSON Schema (as z.toJSONSchema writes it) in a few words per field, for `types` on a
 * terminal: "sleepMs?  integer 0–600000". Anything it does not know is shown as JSON.
 */
type Schema = Record<string, unknown> & {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  additionalProperties?: boolean | Schema;
};

/** One line per top-level field ("name?" when optional); a union at the top gives one block per variant. */
export function summariseFields(schema: Schema, indent = ""): string[] {
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants && !schema.properties) {
    return variants.flatMap((variant, i) => [`${indent}variant ${i + 1}:`, ...summariseFields(variant, `${indent}  `)]);
  }
  if (!schema.properties) return [`${indent}${describeType(schema)}`];
  const required = new Set(schema.required ?? []);
  const names = Object.keys(schema.properties).map((name) => `${name}${required.has(name) ? "" : "?"}`);
  const width = Math.max(...names.map((n) => n.length));
  return Object.values(schema.properties).map((field, i) => `${indent}${names[i]!.padEnd(width)}  ${describeType(field)}`);
}

/** "integer 0–600000", "\"auto\" | \"store\"", "array of string (1–100)", "{ path, name? }" … plus "= default". */
export function describeType(schema: Schema): string {
  const text = bareType(schema);
  const withDefault = "default" in schema ? `${text} = ${JSON.stringify(schema.default)}` : text;
  return typeof schema.description === "string" ? `${withDefault} — ${schema.description}` : withDefault;
}

function bareType(schema: Schema): string {
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if ("const" in schema) return JSON.stringify(schema.const);
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return variants.map(bareType).join(" | ");
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type;
  switch (type) {
    case "integer":
    case "number":
      return `${type}${range(schema.minimum, schema.maximum)}`;
    case "array":
      return `array of ${schema.items ? bareType(schema.items) : "anything"}${range(schema.minItems, schema.maxItems).replace(/^ (.+)/, " ($1 items)")}`;
    case "object": {
      if (schema.properties) {
        const required = new Set(schema.required ?? []);
        return `{ ${Object.keys(schema.properties)
          .map((k) => `${k}${required.has(k) ? "" : "?"}`)
          .join(", ")} }`;
      }
      const values = schema.additionalProperties;
      return typeof values === "object" ? `object of ${bareType(values)}` : "object";
    }
    case undefined:
      return Object.keys(schema).length === 0 ? "anything" : JSON.stringify(schema);
    default:
      return type;
  }
}

/** " 0–100", " ≥ 1", " ≤ 10", or "" — bounds that are just the safe-integer limits are noise. */
function range(min: unknown, max: unknown): string {
  const lower = typeof min === "number" && min > Number.MIN_SAFE_INTEGER ? min : undefined;
  const upper = typeof max === "number" && max < Number.MAX_SAFE_INTEGER ? max : undefined;
  if (lower !== undefined && upper !== undefined) return ` ${lower}–${upper}`;
  if (lower !== undefined) return ` ≥ ${lower}`;
  if (upper !== undefined) return ` ≤ ${upper}`;
  return "";
}
