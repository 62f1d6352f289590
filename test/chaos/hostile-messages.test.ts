import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * What the hostile-input suite found, one case each: job_data mistakes named in words (not
 * "received undefined", not V8's echo of the input), values from rows quoted so that a line
 * break or a bidi override cannot cut or disguise the message, bounds on template arguments,
 * and paths that would hang (a FIFO) or fail late (a folder as an output) refused at once.
 */

let files: string;
let out: string;
/** job label → its row after the run. */
const outcome = new Map<string, { status: string; attempts: number; error: string | null }>();

const cases: Record<string, [type: string, jobData: string]> = {};
function job(label: string, type: string, data: unknown): void {
  cases[label] = [type, typeof data === "string" ? data : JSON.stringify(data)];
}

// Node 20 runs a file's before hooks concurrently: everything happens in the environment's setup.
const env = useTestEnvironment("oj-hostile-messages-", async () => {
  files = path.join(env.dir, "files");
  out = path.join(env.dir, "out");
  fs.mkdirSync(files);
  fs.mkdirSync(path.join(out, "folder"), { recursive: true });
  fs.writeFileSync(path.join(files, "a.txt"), "a\n");
  execFileSync("mkfifo", [path.join(files, "fifo")]);
  const config = hostConfig(env, "messages", {
    leaseSeconds: 30,
    paths: { readRoots: [files], writeRoots: [out] },
    commands: {
      cat: { argv: ["cat", "{file}"], pathArgs: { file: "read" }, timeoutSeconds: 5 },
      echo: { argv: ["echo", "{a}"], args: { a: { pattern: "[\\s\\S]*" } } },
    },
    types: { command: { maxAttempts: 3 }, delete_file: { maxAttempts: 3 } },
  });

  job("json echo", "noop", '{"a": mysql://root:hunter2@db/app}');
  job("json position", "noop", '{\n  "sleepMs": 1,\n}');
  job("missing field", "create_previews", {});
  job("union", "command", { command: "echo", args: { a: null } });
  job("unknown key", "noop", { "evil\u202Eexe.jpg\nsecond line": 1 });
  job("int bound", "noop", { sleepMs: 1e308 });
  job("newline in path", "create_previews", { source: `${files}/new\nline.jpg` });
  job("bidi in path", "create_previews", { source: `${files}/report\u202Egpj.exe` });
  job("long path", "create_previews", { source: `/elsewhere/${"x/".repeat(1500)}end.jpg` });
  job("argument name", "command", { command: "echo", args: { a: "x", "not a name": "y" } });
  job("argument count", "command", { command: "echo", args: Object.fromEntries(Array.from({ length: 300 }, (_, k) => [`a${k}`, "v"])) });
  job("fifo source", "command", { command: "cat", args: { file: `${files}/fifo` } });
  job("folder output", "create_alternative_file", { source: `${files}/a.txt`, output: path.join(out, "folder"), command: "echo" });
  job("long delete name", "delete_file", { path: `${out}/${"n".repeat(300)}` });
  job("bidi template name", "command", { command: "ech\u202Eo" });

  for (const [type, data] of Object.values(cases)) await env.db.query("INSERT INTO job_queue (type, job_data) VALUES (?, ?)", [type, data]);
  const run = await runCli(["run", "--max-jobs", "4"], { config, timeoutMs: 60_000 });
  assert.equal(run.code, 0, `the run should exit 0; stderr:\n${tail(run.stderr)}`);
  const rows = await env.db.query<{ status: string; attempts: number; error: string | null }>("SELECT status, attempts, error FROM job_queue ORDER BY ref");
  Object.keys(cases).forEach((label, i) => outcome.set(label, rows[i]!));
});

/** The row of a case, which must have failed at its first attempt. */
function failed(label: string): string {
  const row = outcome.get(label)!;
  assert.equal(row.status, "failed", `${label}: should have failed, is ${row.status}`);
  assert.equal(Number(row.attempts), 1, `${label}: bad input fails at once, not after ${row.attempts} attempts (${row.error})`);
  return row.error!;
}

test("invalid JSON is described without echoing the row, with where the problem is", () => {
  const echoed = failed("json echo");
  assert.match(echoed, /^job_data is not valid JSON \(Unexpected token 'm'\)$/);
  assert.doesNotMatch(echoed, /hunter2|mysql:/, "V8's message quotes the input; the error must not");
  assert.equal(failed("json position"), "job_data is not valid JSON (Expected double-quoted property name at line 3, column 1)");
});

test("schema errors say 'required' and what a union takes, not 'received undefined' or 'Invalid input'", () => {
  assert.equal(failed("missing field"), "job_data is invalid for create_previews: source: required (a string)");
  assert.equal(failed("union"), "job_data is invalid for command: args.a: expected string, number or boolean, received null");
  assert.equal(
    failed("int bound"),
    "job_data is invalid for noop: sleepMs: Too big: expected number to be <=600000",
    "the schema's own bound, not the safe-integer one",
  );
});

test("values from the row are quoted with line breaks and bidi overrides escaped", () => {
  assert.equal(failed("unknown key"), 'job_data is invalid for noop: job_data: unknown key "evil\\u202eexe.jpg\\nsecond line"');
  assert.equal(failed("newline in path"), `source file not found: ${files}/new\\nline.jpg`, "the whole file name, not its first line");
  assert.equal(failed("bidi in path"), `source file not found: ${files}/report\\u202egpj.exe`);
  assert.equal(failed("bidi template name"), 'unknown command template "ech\\u202eo": the config defines "cat", "echo"');
});

test("a long path is shortened in the middle: the error stays one bounded sentence", () => {
  const error = failed("long path");
  assert.ok(error.length <= 400, `the error is ${error.length} characters long`);
  assert.ok(error.startsWith('the source "/elsewhere/x/x/') && error.includes("…"), `the start is kept, the middle cut: ${error}`);
  assert.ok(error.endsWith('x/end.jpg" is outside the allowed roots'), `the end is kept: ${error}`);
});

test("template arguments are bounded: placeholder-like names, at most 256 of them", () => {
  assert.equal(
    failed("argument name"),
    "job_data is invalid for command: args.not a name: argument names are placeholder names: letters, digits and _, at most 64",
  );
  assert.equal(failed("argument count"), "job_data is invalid for command: args: at most 256 arguments");
});

test("a FIFO is refused before anything opens it (a command would block until its timeout)", () => {
  assert.equal(failed("fifo source"), `the source "${files}/fifo" is not a regular file or folder (a FIFO, socket or device)`);
});

test("an output that is an existing folder fails at once, before any work, not at the final rename", () => {
  assert.equal(failed("folder output"), `the output "${path.join(out, "folder")}" is a folder; give a file name`);
});

test("a path whose name is too long fails permanently instead of being retried", () => {
  assert.match(failed("long delete name"), /^cannot delete "\/.+n…n+": a name in it is too long \(ENAMETOOLONG\)$/);
});
