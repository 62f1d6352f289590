import path from "node:path";
import { pathToFileURL } from "node:url";
import { FatalError } from "../errors.js";
import type { Config, TypeOptions } from "../config/schema.js";
import type { Handler } from "../job/handler.js";
import collectionDownload from "./collection-download.js";
import command from "./command.js";
import createAlternativeFile from "./create-alternative-file.js";
import createDownloadFile from "./create-download-file.js";
import createPreviews from "./create-previews.js";
import deleteFile from "./delete-file.js";
import extractText from "./extract-text.js";
import noop from "./noop.js";

/** The built-in job types. Adding one is one file plus one line here. */
const BUILT_IN: Handler<unknown>[] = [noop, command, createPreviews, createAlternativeFile, createDownloadFile, collectionDownload, deleteFile, extractText];

const NAME = /^[a-z][a-z0-9_]{0,63}$/;

/** Settings of one type after the config's `types.<name>` is laid over the handler's defaults. */
export interface TypeSettings {
  timeoutSeconds: number;
  maxAttempts: number;
  concurrency: number | undefined;
  onLost: "retry" | "fail";
  backoff: { initialSeconds: number; maxSeconds: number };
  hidden: boolean;
  /** false (types.<name>.enabled): this host never claims the type; other hosts may. */
  enabled: boolean;
}

export const GLOBAL_DEFAULTS = { timeoutSeconds: 3600, maxAttempts: 3, backoff: { initialSeconds: 10, maxSeconds: 3600 } };

export class Registry {
  private readonly handlers = new Map<string, Handler<unknown>>();

  constructor(private readonly config: Config) {}

  add(handler: Handler<unknown>, source = "built-in"): void {
    if (!handler || typeof handler.run !== "function" || !handler.schema || typeof handler.name !== "string") {
      throw new FatalError(`handlers: ${source} does not export a handler (name, schema, run); use defineHandler()`);
    }
    if (!NAME.test(handler.name)) throw new FatalError(`handlers: ${source}: "${handler.name}" is not a valid type name (a-z, 0-9, _)`);
    this.handlers.set(handler.name, handler);
  }

  get(type: string): Handler<unknown> | undefined {
    return this.handlers.get(type);
  }

  names(): string[] {
    return [...this.handlers.keys()].sort();
  }

  /**
   * The types a run claims: all it has handlers for, or those of them named by --type, less
   * the disabled ones, whose rows stay pending for hosts that run them.
   */
  selected(wanted?: string[]): string[] {
    const enabled = this.names().filter((type) => this.settings(type).enabled);
    return wanted?.length ? enabled.filter((type) => wanted.includes(type)) : enabled;
  }

  /** Types with a handler here that the config turns off on this host (types.<name>.enabled: false). */
  disabled(): string[] {
    return this.names().filter((type) => !this.settings(type).enabled);
  }

  /** What to tell an operator whose --type names a disabled type; undefined when it names none. */
  disabledWanted(wanted?: string[]): string | undefined {
    const off = this.disabled().filter((type) => wanted?.includes(type));
    if (off.length === 0) return undefined;
    return `--type ${off.join(", ")}: disabled on this host (types.<name>.enabled is false), so not claimed here`;
  }

  settings(type: string): TypeSettings {
    const defaults = this.handlers.get(type)?.defaults ?? {};
    const configured: TypeOptions = Object.hasOwn(this.config.types, type) ? this.config.types[type]! : {};
    return {
      timeoutSeconds: configured.timeoutSeconds ?? defaults.timeoutSeconds ?? GLOBAL_DEFAULTS.timeoutSeconds,
      maxAttempts: configured.maxAttempts ?? defaults.maxAttempts ?? GLOBAL_DEFAULTS.maxAttempts,
      concurrency: configured.concurrency ?? defaults.concurrency,
      onLost: configured.onLost ?? defaults.onLost ?? "retry",
      backoff: configured.backoff ?? GLOBAL_DEFAULTS.backoff,
      hidden: configured.hidden ?? false,
      enabled: configured.enabled ?? true,
    };
  }

  /** Cross-host concurrency limits of the given types. */
  limits(types: string[]): Record<string, number> {
    const limits: Record<string, number> = {};
    for (const type of types) {
      const concurrency = this.settings(type).concurrency;
      if (concurrency !== undefined) limits[type] = concurrency;
    }
    return limits;
  }
}

/** Built-ins plus the modules named in config.handlers (default export: a handler or an array). */
export async function loadRegistry(config: Config): Promise<Registry> {
  const registry = new Registry(config);
  for (const handler of BUILT_IN) registry.add(handler);
  for (const specifier of config.handlers) {
    const url = path.isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier;
    let module: { default?: unknown; handlers?: unknown };
    try {
      module = await import(url);
    } catch (error) {
      throw new FatalError(`handlers: cannot load ${specifier}: ${(error as Error).message.split("\n")[0]}`);
    }
    const exported = module.default ?? module.handlers;
    for (const handler of Array.isArray(exported) ? exported : [exported]) registry.add(handler as Handler, specifier);
  }
  return registry;
}
