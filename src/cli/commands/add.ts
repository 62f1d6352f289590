import fs from "node:fs";
import { Command } from "commander";
import { z } from "zod";
import { addJobs, checkNewJobs } from "../../client/enqueue.js";
import { InvalidJobError, JobFailedExit, UsageError, WaitTimedOutExit } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { Database } from "../../queue/db.js";
import type { NewJob } from "../../queue/enqueue.js";
import { waitForJobs } from "../../queue/wait.js";
import { commandLineUser } from "../cli-user.js";
import { parseOptions, positiveIntString, withContext, withContextAfterWrites, type GlobalOptions } from "../context.js";
import { logJobEnd } from "../job-end.js";
import { parseRunAt } from "../run-at.js";

// Shapes only: what the columns hold is checked by the core, for add and enqueue() alike
// (src/queue/new-job-limits.ts).
const optionsSchema = z.object({
  data: z.string().optional(),
  dataFile: z.string().optional(),
  batch: z.string().optional(),
  user: z.string().optional(),
  priority: z
    .string()
    .regex(/^-?\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int())
    .optional(),
  runAt: z.string().optional(),
  code: z.string().optional(),
  maxAttempts: positiveIntString.optional(),
  successText: z.string().optional(),
  failureText: z.string().optional(),
  wait: z.boolean().optional(),
  force: z.boolean().optional(),
  timeout: z
    .string()
    .regex(/^\d+(\.\d+)?$/, "must be a number of seconds")
    .transform(Number)
    .pipe(z.number().positive("must be more than 0"))
    .optional(),
});

/** One line of `add --batch FILE` (docs/operations.md, "Enqueueing jobs"). */
const batchLineSchema = z
  .object({
    type: z.string(),
    data: z.unknown().optional(),
    user: z.string().nullable().optional(),
    priority: z.number().int().optional(),
    runAt: z.string().optional(),
    code: z.string().nullable().optional(),
    maxAttempts: z.number().int().optional(),
    successText: z.string().optional(),
    failureText: z.string().optional(),
  })
  .strict();

const EXAMPLES = `
Examples:
  offline-jobs add noop --data '{"sleepMs": 100}'
  offline-jobs add command --data '{"command": "hello", "args": {"name": "world"}}' --user admin
  offline-jobs add create_previews --data-file job.json --priority 1 --code previews-42
  offline-jobs add noop --run-at +10m
  offline-jobs add --batch jobs.jsonl     one JSON object per line: {"type", "data", "user"?, …}
  offline-jobs add noop --wait --timeout 60   wait until a worker has run it: exit 0 complete,
                                              1 failed or cancelled, 124 still queued after 60 s
  offline-jobs add --batch jobs.jsonl --wait  exit 0 only if every job completed

Without --user (or "user" in a batch line), a job's user is "cli:" and the name of the
account that ran add, e.g. cli:deploy: \`offline-jobs list --user cli:deploy\` finds them.
"user": null in a batch line leaves it empty.

With --wait, stdout still carries only the refs; how each job ended (and its notice) goes to
stderr as it ends, as the other log lines do.`;

export function addCommand(): Command {
  return new Command("add")
    .description("add a job (prints its ref), or many with --batch")
    .argument("[type]", "the job type (see offline-jobs types)")
    .option("--data <json>", "job_data as JSON")
    .option("--data-file <file>", "job_data from a JSON file")
    .option("--batch <file>", "add one job per line of a JSON-lines file (all or none)")
    .option("--user <user>", "who asked for it (default: cli:<your account name>)")
    .option("--priority <n>", "lower runs first: 0 immediate, 1 user-facing, 2 system (default)")
    .option("--run-at <when>", "not before: an ISO date-time, or +30s / +10m / +2h / +1d")
    .option("--code <code>", "de-duplication key: if an active job has it, print that job's ref instead")
    .option("--max-attempts <n>", "attempts before giving up (default: the type's)")
    .option("--success-text <text>", "notice on success: {ref} {type} {user} {url}")
    .option("--failure-text <text>", "notice on failure: {ref} {type} {user} {error}")
    .option("--wait", "wait until the job has ended (run by cron, a worker or another host) and exit 0 complete, 1 failed or cancelled")
    .option("--timeout <seconds>", "with --wait: give up after this long with exit 124; the job stays queued")
    .option("--force", "add a job of a type (or a command template) this config does not know, for a host whose config does")
    .addHelpText("after", EXAMPLES)
    .action(async (type: string | undefined, _raw, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const options = parseOptions(optionsSchema, command.opts());
      if (options.timeout !== undefined && !options.wait) throw new UsageError("--timeout needs --wait");
      const jobs = options.batch ? readBatch(options.batch, type) : [{ job: singleJob(type, options), where: "" }];
      await (options.wait ? withContextAfterWrites : withContext)(globals, async ({ config, db, logger }) => {
        // The checks enqueue() makes too (src/client/check-new-job.ts); a refusal is exit 2.
        const forced = (message: string) => logger.warn(`${message}; added anyway (--force)`);
        await checkNewJobs(
          jobs.map((j) => j.job),
          config,
          options.force === true,
          forced,
          (index: number) => jobs[index]!.where,
        ).catch((error: unknown) => {
          if (!(error instanceof InvalidJobError)) throw error;
          throw new UsageError(error.forceable ? `${error.message}; add --force to queue it for a host whose config handles it` : error.message);
        });
        const added = await addJobs(
          db,
          config,
          jobs.map((j) => j.job),
        );
        for (const [i, { ref, existing }] of added.entries()) {
          process.stdout.write(`${ref}\n`);
          if (existing) process.stderr.write(`job ${ref} with code ${jobs[i]!.job.code} is already active; not added again\n`);
        }
        if (options.wait)
          await waitAndReport(
            db,
            logger,
            added.map((a) => a.ref),
            options.timeout,
          );
      });
    });
}

/**
 * `add --wait`: one line per job as it ends, then the exit code. A failure already seen
 * decides the outcome (1) even when other jobs of a batch are still queued at the timeout:
 * "every job completed" can no longer come true. A timeout exits 124: the jobs are fine and
 * still queued.
 */
async function waitAndReport(db: Database, logger: Logger, refs: number[], timeoutSeconds: number | undefined): Promise<void> {
  let lastPollError = "";
  const { ended, unfinished } = await waitForJobs(db, refs, {
    timeoutMs: timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000,
    onEnd: (end) => logJobEnd(logger, end),
    onPollError: (error) => {
      const text = (error as { code?: string }).code ?? String(error);
      if (text !== lastPollError) logger.warn(`cannot read the jobs' status (${text}); still waiting`);
      lastPollError = text;
    },
  });
  const notComplete = ended.filter((end) => end.status !== "complete");
  if (refs.length > 1) {
    const count = (status: string) => ended.filter((end) => end.status === status).length;
    const summary = `${count("complete")} complete, ${count("failed")} failed, ${count("cancelled")} cancelled${count("gone") ? `, ${count("gone")} deleted` : ""}${unfinished.length ? `, ${unfinished.length} not ended` : ""} of ${new Set(refs).size} job(s)`;
    if (notComplete.length || unfinished.length) logger.error(`batch: ${summary}`);
    else logger.info(`batch: ${summary}`);
  }
  if (notComplete.length) throw new JobFailedExit();
  if (unfinished.length) {
    logger.error(`gave up waiting after ${timeoutSeconds} s: ${describeRefs(unfinished)} not ended yet, and left in the queue`);
    throw new WaitTimedOutExit();
  }
}

function describeRefs(refs: number[]): string {
  const shown = refs.slice(0, 10).join(", ");
  return refs.length === 1 ? `job ${shown} has` : `jobs ${shown}${refs.length > 10 ? ` and ${refs.length - 10} more` : ""} have`;
}

function singleJob(type: string | undefined, options: z.infer<typeof optionsSchema>): NewJob {
  if (!type) throw new UsageError("add needs a job type (or --batch FILE)");
  if (options.data !== undefined && options.dataFile !== undefined) throw new UsageError("give --data or --data-file, not both");
  const text = options.dataFile !== undefined ? readFile(options.dataFile) : options.data;
  return {
    type,
    data: text === undefined ? {} : parseJson(text, options.dataFile ? `--data-file ${options.dataFile}` : "--data"),
    user: options.user ?? commandLineUser(),
    priority: options.priority,
    runAt: options.runAt ? parseRunAt(options.runAt) : null,
    code: options.code ?? null,
    maxAttempts: options.maxAttempts ?? null,
    successText: options.successText ?? null,
    failureText: options.failureText ?? null,
  };
}

/** The jobs of a batch file, each with where it came from ("jobs.jsonl:17: ") for its errors. */
function readBatch(file: string, type: string | undefined): Array<{ job: NewJob; where: string }> {
  if (type) throw new UsageError("give a type or --batch FILE, not both");
  const lines = readFile(file).split(/\r?\n/);
  const jobs: Array<{ job: NewJob; where: string }> = [];
  lines.forEach((line, index) => {
    if (line.trim() === "") return;
    const where = `${file}:${index + 1}: `;
    const parsed = batchLineSchema.safeParse(parseJson(line, `${where}the line`));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new UsageError(`${where}${issue.path.join(".") || "line"}: ${issue.message}`);
    }
    const { runAt, code, user, ...rest } = parsed.data;
    const job = { ...rest, user: user === undefined ? commandLineUser() : user, code: code ?? null, runAt: runAt ? parseRunAt(runAt) : null };
    jobs.push({ job, where });
  });
  if (jobs.length === 0) throw new UsageError(`${file} has no jobs`);
  return jobs;
}

function readFile(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${where} is not valid JSON (${(error as Error).message})`);
  }
}
