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

const DEFAULT_SUCCESS = "Job {ref} ({type}) is complete.";
const DEFAULT_FAILURE = "Job {ref} ({type}) failed: {error}";

export function renderNotice(template: string | null, values: NoticeValues, failed: boolean): string {
  const text = template ?? (failed ? DEFAULT_FAILURE : DEFAULT_SUCCESS);
  const table: Record<string, string> = {
    ref: String(values.ref),
    type: values.type,
    user: values.user ?? "",
    url: typeof values.url === "string" ? values.url : "",
    error: values.error ?? "",
  };
  return text.replace(/\{(ref|type|user|url|error)\}/g, (_, key: string) => table[key]!);
}
