import { Command } from "commander";
import { z } from "zod";
import { FatalError } from "../../errors.js";
import type { Handler } from "../../job/handler.js";
import { loadRegistry, type Registry } from "../../handlers/registry.js";
import { loadCommandConfig, makeLogger, parseOptions, type GlobalOptions } from "../context.js";
import { summariseFields } from "../schema-summary.js";
import { formatDuration } from "../table.js";

const optionsSchema = z.object({ json: z.boolean().optional() });

/** What `types --json` prints per type (one element of an array). */
interface TypeDescription {
  name: string;
  description: string;
  /** The job_data JSON Schema (draft 2020-12), as an application writes it (defaults optional). */
  schema: unknown;
  limits: {
    timeoutSeconds: number;
    maxAttempts: number;
    concurrency: number | null;
    onLost: "retry" | "fail";
    backoff: { initialSeconds: number; maxSeconds: number };
  };
  /** false: this host never claims it (types.<name>.enabled). */
  enabled: boolean;
}

export function typesCommand(): Command {
  return new Command("types")
    .description("each job type this config knows: what it does, its job_data, its limits (hidden types left out unless named)")
    .argument("[type]", "only this type")
    .option("--json", "print a JSON array: name, description, schema (JSON Schema), limits, enabled")
    .action(async (only: string | undefined, _raw, command: Command) => {
      const options = parseOptions(optionsSchema, command.opts());
      const globals = command.optsWithGlobals<GlobalOptions>();
      // No database needed: the handlers and the config say everything.
      const registry = await loadRegistry(loadCommandConfig(globals, makeLogger(globals)));
      if (only !== undefined && !registry.get(only)) throw new FatalError(`no handler for type "${only}" here (known: ${registry.names().join(", ")})`);
      const names = only !== undefined ? [only] : registry.names().filter((name) => !registry.settings(name).hidden);
      const types = names.map((name) => describeType(registry, registry.get(name)!));
      if (options.json) {
        process.stdout.write(`${JSON.stringify(types)}\n`);
        return;
      }
      process.stdout.write(types.map(formatType).join("\n"));
    });
}

function describeType(registry: Registry, handler: Handler<unknown>): TypeDescription {
  const { timeoutSeconds, maxAttempts, concurrency, onLost, backoff, enabled } = registry.settings(handler.name);
  return {
    name: handler.name,
    // A module that does not use defineHandler may leave it out.
    description: handler.description ?? "",
    // "input": the shape job_data is written in (fields with defaults are optional there);
    // "any" for what JSON Schema cannot express (a custom check), instead of throwing.
    schema: z.toJSONSchema(handler.schema, { io: "input", unrepresentable: "any" }),
    limits: { timeoutSeconds, maxAttempts, concurrency: concurrency ?? null, onLost, backoff },
    enabled,
  };
}

function formatType(type: TypeDescription): string {
  const { timeoutSeconds, maxAttempts, concurrency, onLost, backoff } = type.limits;
  const limits = [
    `timeout ${formatDuration(timeoutSeconds)}`,
    `${maxAttempts} attempt${maxAttempts === 1 ? "" : "s"}`,
    concurrency === null ? "no concurrency limit" : `at most ${concurrency} running`,
    `backoff ${formatDuration(backoff.initialSeconds)}–${formatDuration(backoff.maxSeconds)}`,
    onLost === "fail" ? "a lost job fails" : "a lost job is retried",
  ];
  const fields = summariseFields(type.schema as Record<string, unknown>, "    ");
  const disabled = type.enabled ? "" : `  disabled on this host (types.${type.name}.enabled is false): its jobs wait for another host`;
  return [`${type.name}`, type.description && `  ${type.description}`, disabled, `  limits: ${limits.join(" · ")}`, "  job_data:", ...fields]
    .filter((line) => line !== "")
    .join("\n")
    .concat("\n");
}
