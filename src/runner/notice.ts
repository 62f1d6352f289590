/**
 * success_text / failure_text → the notice the application shows its user. Only the known
 * placeholders are replaced; anything else in braces is left as written.
 */
export interface NoticeValues {
  ref: number;
  type: string;
  user: string | null;
  url?: unknown;
  error?: string;
}

const DEFAULT_FAILURE = "Job {ref} ({type}) failed: {error}";

export function renderNotice(template: string | null, values: NoticeValues, failed: boolean): string {
  // The default success notice, "Job {ref} ({type}) is complete.", written out: most jobs
  // carry no success_text, and they need no regex and no table.
  if (template === null && !failed) return `Job ${values.ref} (${values.type}) is complete.`;
  const text = template ?? DEFAULT_FAILURE;
  const table: Record<string, string> = {
    ref: String(values.ref),
    type: values.type,
    user: values.user ?? "",
    url: typeof values.url === "string" ? values.url : "",
    error: values.error ?? "",
  };
  return text.replace(/\{(ref|type|user|url|error)\}/g, (_, key: string) => table[key]!);
}
