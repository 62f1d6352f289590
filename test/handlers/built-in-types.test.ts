import assert from "node:assert/strict";
import { test } from "node:test";
import { configSchema } from "../../src/config/schema.js";
import { BUILT_IN_TYPES, loadRegistry } from "../../src/handlers/registry.js";

/**
 * A run registers the built-in types by name and defaults and loads a type's module when its
 * first job runs (registry.ts): what it says of each before loading must be what the module says.
 */

const config = configSchema.parse({ database: { url: "mysql://localhost/x" } });

test("the names and defaults a run knows before loading the built-in handlers are the handlers' own", async () => {
  const loaded = await loadRegistry(config);
  assert.deepEqual(
    BUILT_IN_TYPES.map(({ name, defaults }) => ({ name, defaults })),
    BUILT_IN_TYPES.map(({ name }) => ({ name, defaults: loaded.get(name)!.defaults })),
  );
  assert.deepEqual(
    BUILT_IN_TYPES.map(({ name }) => name),
    BUILT_IN_TYPES.map(({ name }) => loaded.get(name)!.name),
  );
});

test("a lazy registry knows every built-in's name and settings at once, and loads a handler when asked", async () => {
  const lazy = await loadRegistry(config, { lazy: true });
  const eager = await loadRegistry(config);
  assert.deepEqual(lazy.names(), eager.names());
  for (const name of eager.names()) assert.deepEqual(lazy.settings(name), eager.settings(name), `settings of ${name}`);
  assert.equal(lazy.get("noop"), undefined, "not loaded before a job of its type needs it");
  const noop = await lazy.load("noop");
  assert.equal(noop?.name, "noop");
  assert.equal(lazy.get("noop"), noop, "loaded once, then at hand");
  assert.equal(await lazy.load("no_such_type"), undefined);
});
