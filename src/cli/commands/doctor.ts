import { Command } from "commander";
import { z } from "zod";
import { FatalError } from "../../errors.js";
import { parseOptions, type GlobalOptions } from "../context.js";
import { runChecks } from "../doctor-checks.js";
import type { CheckStatus } from "../doctor-result.js";

const optionsSchema = z.object({ json: z.boolean().optional(), strict: z.boolean().optional() });

const LABEL: Record<CheckStatus, string> = { ok: "ok", warn: "warn", fail: "FAIL", skip: "skip" };

const EXAMPLES = `
Checks: the config; whether other users can read it (it holds the password); the database
(reachable, server version, SKIP LOCKED, schema version); the handler modules; the lock
folder (writable); paths.readRoots, paths.writeRoots and downloads.dir (present, usable);
ffmpeg, ffprobe, pdfinfo, pdftoppm and pdftotext (found, version); the programs of the
command templates, and whether each declares its placeholders.

FAIL means something this config needs is missing, and the exit code is 1. warn means some
jobs will fail or be slow (e.g. no ffmpeg: video previews fail; no pdftotext: slower PDF
text); a program that only hidden or disabled types (types.<name>.hidden, .enabled) use
is not needed.

Examples:
  offline-jobs doctor --config /etc/offline-jobs.json
  offline-jobs doctor --json | jq '.checks[] | select(.status != "ok")'
  offline-jobs doctor --strict       provisioning: warnings fail too`;

export function doctorCommand(): Command {
  return new Command("doctor")
    .description("check the installation: database, schema, lock folder, roots, programs; exit 1 if something needed is missing")
    .option("--json", 'print {"ok", "checks": [{"name", "status", "detail"}]} instead of lines')
    .option("--strict", "exit 1 on warnings too")
    .addHelpText("after", EXAMPLES)
    .action(async (_raw, command: Command) => {
      const options = parseOptions(optionsSchema, command.opts());
      const globals = command.optsWithGlobals<GlobalOptions>();
      const checks = await runChecks(globals.config);
      const failed = checks.some((check) => check.status === "fail" || (options.strict && check.status === "warn"));
      if (options.json) process.stdout.write(`${JSON.stringify({ ok: !failed, checks })}\n`);
      else {
        const width = Math.max(...checks.map((check) => check.name.length));
        for (const check of checks) process.stdout.write(`${LABEL[check.status].padEnd(4)}  ${check.name.padEnd(width)}  ${check.detail}\n`);
      }
      const count = (status: CheckStatus) => checks.filter((check) => check.status === status).length;
      const summary = `${count("fail")} check(s) failed, ${count("warn")} warning(s), ${count("ok")} ok`;
      if (failed) throw new FatalError(`doctor: ${summary}${options.strict && !count("fail") ? " (--strict: warnings fail)" : ""}`);
      if (!globals.quiet && !options.json) process.stderr.write(`${summary}\n`);
    });
}
