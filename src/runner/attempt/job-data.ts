import type { ZodErrorMap, ZodType } from "zod";
import { errorMessage, PermanentError } from "../../errors.js";
import type { ClaimedJob } from "../../queue/claimed-job.js";
import { jsonSyntaxProblem, quote, shorten, visible } from "../../quote.js";

/**
 * A row's job_data, parsed and checked against its handler's schema. job_data is the row's
 * (SECURITY.md): whatever is wrong with it fails the job permanently, with one sentence that
 * says where.
 */
export function parseJobData(job: ClaimedJob, schema: ZodType): unknown {
  let raw: unknown = {};
  if (job.jobData !== null && job.jobData.trim() !== "") {
    try {
      raw = JSON.parse(job.jobData);
    } catch (error) {
      throw new PermanentError(`job_data is not valid JSON (${jsonSyntaxProblem(errorMessage(error), job.jobData)})`);
    }
  }
  const parsed = schema.safeParse(raw, { error: issueMessage });
  if (!parsed.success) {
    // An int past the safe range also fails the schema's own bound: that one says more.
    const issues = parsed.error.issues;
    const issue = issues.find((i) => !("note" in i && /safe integer/.test(String(i.note)))) ?? issues[0];
    const where = issue?.path.length ? visible(issue.path.map((key) => shorten(String(key), 40)).join(".")) : "job_data";
    throw new PermanentError(`job_data is invalid for ${job.type}: ${where}: ${issue?.message ?? "does not match the schema"}`);
  }
  return parsed.data;
}

/**
 * zod's words where its defaults are unclear for job_data: a missing field says "required"
 * (not "received undefined"), a union says what it takes, a bad record key why, unknown keys
 * are quoted safely.
 */
function issueMessage(issue: Parameters<ZodErrorMap>[0]): string | undefined {
  if (issue.code === "invalid_type" && issue.input === undefined) return `required (${article(issue.expected)})`;
  if (issue.code === "invalid_key") return issue.issues[0]?.message; // the key's own rule, not "Invalid key in record"
  if (issue.code === "unrecognized_keys")
    return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys
      .slice(0, 5)
      .map((k) => quote(k, 40))
      .join(", ")}`;
  if (issue.code === "invalid_union") {
    const firsts = issue.errors.map((branch) => branch[0]).filter((i) => i !== undefined);
    // A branch that got past the type check (a string, but too long) says the most.
    const specific = firsts.find((i) => i.code !== "invalid_type");
    if (specific) return specific.message;
    const expected = [...new Set(firsts.map((i) => (i as { expected?: string }).expected).filter(Boolean))];
    if (expected.length)
      return `expected ${expected.slice(0, -1).join(", ")}${expected.length > 1 ? " or " : ""}${expected.at(-1)}, received ${received(issue.input)}`;
  }
  return undefined;
}

function article(noun: string): string {
  return `${/^[aeiou]/.test(noun) ? "an" : "a"} ${noun}`;
}

function received(input: unknown): string {
  return input === null ? "null" : Array.isArray(input) ? "array" : typeof input;
}
