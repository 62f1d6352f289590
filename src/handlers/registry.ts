import path from "node:path";
import { pathToFileURL } from "node:url";
import { FatalError } from "../errors.js";
import type { Config, TypeOptions } from "../config/schema.js";
import type { Handler, HandlerDefaults } from "../job/handler.js";

/** A built-in job type before its module is loaded: what a run needs of it until one of its jobs runs. */
interface BuiltIn {
  name: string;
  defaults: HandlerDefaults;
  load(): Promise<Handler<unknown>>;
}

/**
 * The built-in job types. Adding one is one file plus one line here. Each module (with the
 * media code, schemas and libraries it brings) is imported when a job of its type first runs,
 * or when something asks for its schema (loadRegistry without `lazy`): a cron run on an empty
 * queue needs only their names and defaults, and loading all eight was a fifth of its start.
 * The defaults here are the modules' own (test/handlers/built-in-types.test.ts holds them to it).
 */
const BUILT_IN: BuiltIn[] = [
  { name: "noop", defaults: { timeoutSeconds: 900 }, load: async () => (await import("./noop.js")).default },
  { name: "command", defaults: { timeoutSeconds: 600 }, load: async () => (await import("./command.js")).default },
  { name: "create_previews", defaults: { timeoutSeconds: 3600 }, load: async () => (await import("./create-previews.js")).default },
  { name: "create_alternative_file", defaults: { timeoutSeconds: 3600 }, load: async () => (await import("./create-alternative-file.js")).default },
  { name: "create_download_file", defaults: { timeoutSeconds: 3600 }, load: async () => (await import("./create-download-file.js")).default },
  { name: "collection_download", defaults: { timeoutSeconds: 3600 }, load: async () => (await import("./collection-download.js")).default },
  { name: "delete_file", defaults: { timeoutSeconds: 3600 }, load: async () => (await import("./delete-file.js")).default },
  { name: "extract_text", defaults: { timeoutSeconds: 1800 }, load: async () => (await import("./extract-text.js")).default },
];

/** The built-in types as a run sees them before loading any: names and defaults (for the test that checks them). */
export const BUILT_IN_TYPES: ReadonlyArray<Omit<BuiltIn, "load">> = BUILT_IN.map(({ name, defaults }) => ({ name, defaults }));

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
  /** Built-in types whose module is not loaded yet. */
  private readonly unloaded = new Map<string, BuiltIn>();

  constructor(private readonly config: Config) {}

  add(handler: Handler<unknown>, source = "built-in"): void {
    if (!handler || typeof handler.run !== "function" || !handler.schema || typeof handler.name !== "string") {
      throw new FatalError(`handlers: ${source} does not export a handler (name, schema, run); use defineHandler()`);
    }
    if (!NAME.test(handler.name)) throw new FatalError(`handlers: ${source}: "${handler.name}" is not a valid type name (a-z, 0-9, _)`);
    this.handlers.set(handler.name, handler);
    this.unloaded.delete(handler.name);
  }

  /** The handler of a type, once loaded (`load` loads it; loadRegistry without `lazy` loads all). */
  get(type: string): Handler<unknown> | undefined {
    return this.handlers.get(type);
  }

  /** The handler of a type, its module loaded first if it is a built-in not loaded yet. */
  async load(type: string): Promise<Handler<unknown> | undefined> {
    const loaded = this.handlers.get(type);
    if (loaded) return loaded;
    const builtIn = this.unloaded.get(type);
    if (!builtIn) return undefined;
    const handler = await builtIn.load();
    // A custom handler of the same name may have replaced it meanwhile: that one wins.
    if (this.unloaded.get(type) === builtIn) this.add(handler);
    return this.handlers.get(type);
  }

  /** Registers built-in types whose modules load when first needed. */
  addBuiltIns(builtIns: BuiltIn[]): void {
    for (const builtIn of builtIns) if (!this.handlers.has(builtIn.name)) this.unloaded.set(builtIn.name, builtIn);
  }

  /** Loads every built-in not loaded yet. */
  async loadAll(): Promise<void> {
    await Promise.all([...this.unloaded.keys()].map((type) => this.load(type)));
  }

  names(): string[] {
    return [...new Set([...this.handlers.keys(), ...this.unloaded.keys()])].sort();
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
    const defaults = this.handlers.get(type)?.defaults ?? this.unloaded.get(type)?.defaults ?? {};
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

/**
 * Built-ins plus the modules named in config.handlers (default export: a handler or an array).
 * `lazy`: the built-ins' modules are loaded when a job needs them (Registry.load), for a run.
 */
export async function loadRegistry(config: Config, { lazy = false } = {}): Promise<Registry> {
  const registry = new Registry(config);
  registry.addBuiltIns(BUILT_IN);
  if (!lazy) await registry.loadAll();
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
