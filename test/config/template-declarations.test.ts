import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../../src/config/load-config.js";
import { declarationWarning, templateUsers } from "../../src/config/template-declarations.js";
import { FatalError } from "../../src/errors.js";

// Compiled to dist/test/config/: the repository root is three levels up.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

function loadError(commands: Record<string, unknown>): string {
  try {
    parseConfig({ commands }, { configPath: "/etc/offline-jobs.json", env: {} });
  } catch (error) {
    assert.ok(error instanceof FatalError, `expected a FatalError, got ${String(error)}`);
    return error.message;
  }
  assert.fail("the config loaded");
}

test("a template that declares must declare every placeholder a row would fill, or the config does not load", () => {
  assert.equal(
    loadError({ report: { argv: ["report", "{from}", "{to}"], args: { from: "read" } } }),
    'config /etc/offline-jobs.json: commands.report.args: does not declare {to}, which command / create_alternative_file / create_download_file rows would fill: add each to args as "read", "write" or { "pattern": … }',
  );
  assert.equal(
    loadError({ zip: { argv: ["zip", "{output}", "{file}"], args: { file: "read" }, usableBy: ["command", "create_download_file"] } }),
    'config /etc/offline-jobs.json: commands.zip.args: does not declare {output}, which command / create_download_file rows would fill: add each to args as "read", "write" or { "pattern": … }',
    "usableBy naming command makes {output} a row's to fill, so it must be declared",
  );
});

test("{ref} and {user} cannot be declared, and a pattern must be a regular expression", () => {
  assert.match(
    loadError({ who: { argv: ["id", "{user}"], args: { user: { pattern: ".*" } } } }),
    /commands\.who\.args: declares \{user\}, which the runner fills/,
  );
  assert.match(
    loadError({ bad: { argv: ["echo", "{a}"], args: { a: { pattern: "[unclosed" } } } }),
    /commands\.bad\.args\.a\.pattern: must be a JavaScript regular expression/,
  );
  assert.match(loadError({ bad: { argv: ["echo"], usableBy: ["collection_download"] } }), /commands\.bad\.usableBy\.0/);
});

test("without usableBy, a template using {source} or {output} undeclared is only for the types that fill them", () => {
  assert.deepEqual(templateUsers({ argv: ["cp", "{source}", "{output}"] }), ["create_alternative_file"]);
  assert.deepEqual(templateUsers({ argv: ["zip", "{output}", "{file}"], pathArgs: { file: "read" } }), ["create_alternative_file", "create_download_file"]);
  assert.deepEqual(templateUsers({ argv: ["cp", "{source}", "{output}"], args: { source: "read", output: "write" } }), [
    "command",
    "create_alternative_file",
    "create_download_file",
  ]);
  assert.deepEqual(templateUsers({ argv: ["echo", "{a}"] }), ["command", "create_alternative_file", "create_download_file"]);
});

test("config.example.json and the demo's config declare everything: no template warning", () => {
  const example = parseConfig(JSON.parse(fs.readFileSync(path.join(ROOT, "config.example.json"), "utf8")), { env: {} });
  const demoScript = fs.readFileSync(path.join(ROOT, "scripts/demo.sh"), "utf8");
  const demoCommands = JSON.parse(`{${/^ {2}"commands": (\{[\s\S]*?^ {2}\}),?$/m.exec(demoScript)![0].replace(/,$/, "")}}`).commands;
  const demo = parseConfig({ commands: demoCommands }, { env: {} });
  for (const [where, config] of [
    ["config.example.json", example],
    ["scripts/demo.sh", demo],
  ] as const) {
    const warnings = Object.entries(config.commands).flatMap(([name, template]) => declarationWarning(name, template) ?? []);
    assert.deepEqual(warnings, [], `${where} has templates that do not declare their placeholders`);
  }
});
