import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { parseConfig } from "../../src/config/load-config.js";
import { configSchema } from "../../src/config/schema.js";
import { FatalError } from "../../src/errors.js";

// Compiled to dist/test/config/: the repository root is three levels up.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const EXAMPLE = path.join(ROOT, "config.example.json");

function readExample(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(EXAMPLE, "utf8")) as Record<string, unknown>;
}

/** The schema under .default() and .optional(). */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodDefault || current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType;
  return current;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Every key the schema knows, as a dotted path that is missing from `value`. Object sections
 * need every key; a record of objects (commands, types) needs every key of its value schema
 * in at least one of its entries. Comment keys ("//…") are not options.
 */
function missingKeys(schema: z.ZodType, value: unknown, where: string): string[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    if (!isObject(value)) return [`${where} (not an object)`];
    const missing: string[] = [];
    for (const [key, child] of Object.entries(inner.shape as Record<string, z.ZodType>)) {
      const at = where ? `${where}.${key}` : key;
      if (!Object.hasOwn(value, key)) missing.push(at);
      else missing.push(...missingKeys(child, value[key], at));
    }
    return missing;
  }
  if (inner instanceof z.ZodRecord && unwrap(inner.valueType as z.ZodType) instanceof z.ZodObject) {
    if (!isObject(value)) return [`${where} (not an object)`];
    const entries = Object.entries(value).filter(([key]) => !key.startsWith("//"));
    if (entries.length === 0) return [`${where}.<an entry>`];
    const shape = (unwrap(inner.valueType as z.ZodType) as z.ZodObject).shape as Record<string, z.ZodType>;
    const missing: string[] = [];
    for (const [key, child] of Object.entries(shape)) {
      const entry = entries.find(([, e]) => isObject(e) && Object.hasOwn(e, key));
      if (!entry) missing.push(`${where}.<some entry>.${key}`);
      else missing.push(...missingKeys(child, (entry[1] as Record<string, unknown>)[key], `${where}.${entry[0]}.${key}`));
    }
    return missing;
  }
  return [];
}

describe("config.example.json", () => {
  test("is valid JSON and validates against the schema", () => {
    const config = parseConfig(readExample(), { configPath: EXAMPLE, env: {} });
    assert.equal(config.database.url, "mysql://offline_jobs:secret@127.0.0.1:3306/app");
    assert.equal(config.database.table, "job_queue");
    assert.ok(config.maxJobs >= 1);
    assert.ok(Object.keys(config.commands).length > 0, "it shows at least one command template");
  });

  test("documents every option of the schema", () => {
    const example = readExample();
    const topLevel = Object.keys(configSchema.shape);
    const absentTop = topLevel.filter((key) => !Object.hasOwn(example, key));
    assert.deepEqual(absentTop, [], `top-level options missing from config.example.json: ${absentTop.join(", ")}`);
    const missing = missingKeys(configSchema, example, "");
    assert.deepEqual(missing, [], `options missing from config.example.json: ${missing.join(", ")}`);
  });

  test("has no option the schema does not know (comments aside)", () => {
    // parseConfig would throw on an unknown key; this names every comment-free key that is checked.
    const example = readExample();
    const unknown = Object.keys(example).filter((key) => !key.startsWith("//") && !Object.hasOwn(configSchema.shape, key));
    assert.deepEqual(unknown, []);
  });

  test("explains each section with a // comment", () => {
    const text = fs.readFileSync(EXAMPLE, "utf8");
    const comments = (text.match(/"\/\/[^"]*"\s*:/g) ?? []).length;
    assert.ok(comments >= 10, `expected a // comment per section, found ${comments}`);
  });
});

describe("config errors", () => {
  const password = "pa55-w0rd-that-must-not-leak";
  const url = `mysql://offline_jobs:${password}@db.example.org:3306/app`;

  function fatal(raw: unknown): FatalError {
    let caught: unknown;
    try {
      parseConfig(raw, { configPath: "/etc/offline-jobs.json", env: {} });
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof FatalError, `expected a FatalError, got ${String(caught)}`);
    assert.ok(!caught.message.includes(password), `the message leaks the password: ${caught.message}`);
    assert.ok(!caught.message.includes("\n"), "the message is one line");
    return caught;
  }

  test("a bad value names its key and hides the password", () => {
    const error = fatal({ database: { url }, maxJobs: 0 });
    assert.match(error.message, /maxJobs/);
    assert.match(error.message, /\/etc\/offline-jobs\.json/);
  });

  test("a bad nested value names its dotted key", () => {
    const error = fatal({ database: { url, table: "job queue; DROP TABLE x" } });
    assert.match(error.message, /database\.table/);
  });

  test("an unknown (misspelt) key is reported by name", () => {
    const error = fatal({ database: { url }, maxjobs: 4 });
    assert.match(error.message, /unknown key/);
    assert.match(error.message, /"maxjobs" \(did you mean maxJobs\?\)/);
    assert.match(
      fatal({ database: { url }, types: { noop: { maxAtempts: 2 } } }).message,
      /"types\.noop\.maxAtempts" \(did you mean maxAttempts\?\)/,
      "inside a record's value too",
    );
    assert.doesNotMatch(fatal({ database: { url }, zzzzzz: 1 }).message, /did you mean/, "nothing is suggested when nothing is close");
  });

  test("maintenance given as a word (a message, not a flag file) is a config error that says what the setting takes", () => {
    const error = fatal({ database: { url }, maintenance: "upgrading" });
    assert.match(error.message, /maintenance/);
    assert.match(error.message, /absolute path of a flag file/);
    assert.doesNotThrow(() =>
      parseConfig({ database: { url }, maintenance: "/var/lib/offline-jobs/MAINTENANCE" }, { configPath: "/etc/offline-jobs.json", env: {} }),
    );
    assert.doesNotThrow(() => parseConfig({ database: { url }, maintenance: true }, { configPath: "/etc/offline-jobs.json", env: {} }));
  });

  test("a database URL of another scheme is a config error at once, not a connection timeout", () => {
    assert.match(
      fatal({ database: { url: `postgres://offline_jobs:${password}@db.example.org/app` } }).message,
      /database\.url is a postgres:\/\/ URL; offline-jobs needs MySQL or MariaDB/,
    );
    assert.match(fatal({ database: { url: "http://db.example.org:3306/app" } }).message, /is a http:\/\/ URL/);
    assert.doesNotThrow(() => parseConfig({ database: { url: "mariadb://u@127.0.0.1/app" } }, { configPath: "/etc/offline-jobs.json", env: {} }));
  });

  test("an unknown nested key is reported with its section", () => {
    const error = fatal({ database: { url, pasword: password } });
    assert.match(error.message, /"database\.pasword"/);
  });
});
