/**
 * Every URL the page makes, built from the base path (web.basePath or --base-path), so that it
 * works behind a proxy under /jobs as well as at the root.
 */
export class Paths {
  /** "" for the root, else "/jobs" (no trailing slash). */
  readonly base: string;

  constructor(basePath: string) {
    this.base = normaliseBasePath(basePath);
  }

  /** `path` (starting with "/") under the base, with a query made of the given pairs (empty values left out). */
  to(path: string, query?: URLSearchParams | Record<string, string | number | undefined | null>): string {
    const params = query instanceof URLSearchParams ? query : new URLSearchParams();
    if (query && !(query instanceof URLSearchParams)) {
      for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
    }
    const search = params.toString();
    return `${this.base}${path}${search ? `?${search}` : ""}`;
  }

  /** The overview: the base itself, with its slash. */
  get home(): string {
    return `${this.base}/`;
  }

  /** Whether `target` is a path of this page (for a sign-in's "next"): under the base, and no scheme or host to send the browser elsewhere. */
  owns(target: string): boolean {
    return target.startsWith(`${this.base}/`) && !target.startsWith("//") && !/[\\\u0000-\u001f]/.test(target);
  }
}

/** "/" → "", "/jobs/" → "/jobs". */
export function normaliseBasePath(raw: string): string {
  const trimmed = raw.replace(/\/+$/, "");
  if (trimmed !== "" && !/^\/[A-Za-z0-9._~/-]*$/.test(trimmed)) throw new Error(`base path "${raw}" must be a path such as /jobs`);
  return trimmed;
}
