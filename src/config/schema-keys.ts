import type { z } from "zod";

/**
 * The keys an object of the schema takes at `path` (record values and wrappers such as
 * defaults and optionals are looked through), for "did you mean" on an unknown config key.
 * Empty when the path leads to no object.
 */
export function keysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  let current: Definition | undefined = definitionOf(schema);
  for (const segment of path) {
    current = unwrap(current);
    if (current?.type === "object") current = definitionOf(current.shape?.[String(segment)]);
    else if (current?.type === "record") current = definitionOf(current.valueType);
    else return [];
  }
  current = unwrap(current);
  return current?.type === "object" && current.shape ? Object.keys(current.shape) : [];
}

/** The part of zod 4's schema definition this walk reads. */
interface Definition {
  type: string;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
}

function definitionOf(schema: z.ZodType | undefined): Definition | undefined {
  return (schema as unknown as { _zod?: { def: Definition } } | undefined)?._zod?.def;
}

/** Through .default(), .optional(), .nullable(), .refine()'s pipes and the like, to the shape. */
function unwrap(definition: Definition | undefined): Definition | undefined {
  let current = definition;
  for (let depth = 0; current && depth < 10; depth++) {
    const inner = current.innerType ?? (current.type === "pipe" ? current.in : undefined);
    if (!inner) return current;
    current = definitionOf(inner);
  }
  return current;
}
