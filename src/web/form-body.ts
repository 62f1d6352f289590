import type { WebContext } from "./site.js";
import { badRequest } from "./http-problem.js";

/**
 * A POSTed form's fields, read like the query string (query / queries), so that the list's
 * filter reads the same from a URL and from a confirmation form. Files are refused: no form of
 * this page sends one.
 */
export interface FormFields {
  query(name: string): string | undefined;
  queries(name: string): string[] | undefined;
}

export async function readForm(c: WebContext): Promise<FormFields> {
  const body = await c.req.parseBody({ all: true });
  const values = new Map<string, string[]>();
  for (const [name, value] of Object.entries(body)) {
    const list = Array.isArray(value) ? value : [value];
    if (list.some((item) => typeof item !== "string")) throw badRequest("this page takes no file uploads");
    values.set(name, list as string[]);
  }
  return {
    query: (name) => values.get(name)?.[0],
    queries: (name) => values.get(name),
  };
}
