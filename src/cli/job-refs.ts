import { z } from "zod";
import { FatalError, UsageError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Skipped } from "../queue/repair.js";

const refSchema = z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(1).max(Number.MAX_SAFE_INTEGER));

/** The job refs of `retry 12 15`, `cancel …`, `boost …`: whole numbers ≥ 1, duplicates dropped. */
export function parseRefs(ids: string[]): number[] {
  const refs = ids.map((id) => {
    const parsed = refSchema.safeParse(id);
    if (!parsed.success) throw new UsageError(`"${id}" is not a job ref (a whole number, 1 or more)`);
    return parsed.data;
  });
  return [...new Set(refs)];
}

/**
 * How the ref commands report: the refs acted on go to stdout, one per line (what scripts
 * read); what was done and why other refs were left alone goes to the log (stderr). When
 * none of the refs asked for was acted on, the command fails (exit 1) with one line that
 * names them, which --quiet still shows.
 */
export function reportRefs(logger: Logger, verb: string, acted: number[], skipped: Skipped[]): void {
  for (const ref of acted) process.stdout.write(`${ref}\n`);
  for (const { ref, reason } of skipped) logger.warn(`job ${ref} not ${verb}: ${reason}`, { ref });
  if (acted.length === 0 && skipped.length > 0) {
    const shown = skipped.slice(0, 5).map(({ ref, reason }) => `${ref}: ${reason}`);
    if (skipped.length > shown.length) shown.push(`and ${skipped.length - shown.length} more`);
    throw new FatalError(`no job was ${verb} (${shown.join("; ")})`);
  }
}

/** "3 job(s): 4, 5, 6", shortened for long lists. */
export function describeRefs(refs: number[]): string {
  const shown = refs.length > 20 ? `${refs.slice(0, 20).join(", ")}, …` : refs.join(", ");
  return `${refs.length} job(s): ${shown}`;
}
