import { PermanentError } from "../errors.js";

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Fills `{name}` placeholders in each argv element from `values`. A value only ever becomes
 * (part of) the one element it stands in: no splitting, no shell, no re-scanning of the
 * substituted text for further placeholders. A missing value fails the job permanently.
 */
export function fillTemplate(argv: string[], values: Record<string, string | number | boolean>, what: string): string[] {
  return argv.map((element) =>
    element.replace(PLACEHOLDER, (_, key: string) => {
      if (!Object.hasOwn(values, key)) throw new PermanentError(`${what} needs the argument "${key}", which job_data.args does not give`);
      const value = String(values[key]);
      if (value.includes("\0")) throw new PermanentError(`argument "${key}" contains a NUL character`);
      return value;
    }),
  );
}
