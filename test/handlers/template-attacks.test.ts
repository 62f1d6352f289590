import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { runCli, writeConfig } from "../helpers/cli.js";
import { useTestEnvironment } from "../helpers/environment.js";

/**
 * The attacks on command templates written for create_alternative_file and
 * create_download_file (SECURITY.md, "Subprocesses"), against a config written the way configs
 * were before templates declared their placeholders: {source} and {output} left out of
 * pathArgs because those handlers fill them. Such a config still loads, with a warning per
 * template, and every attack fails its job with one sentence.
 */

let config: string;
let inbox: string;
let out: string;
let downloads: string;
let outside: string;
let secret: string;

const env = useTestEnvironment("oj-template-attacks-", () => {
  inbox = path.join(env.dir, "in");
  out = path.join(env.dir, "out");
  downloads = path.join(env.dir, "downloads");
  outside = path.join(env.dir, "outside");
  for (const dir of [inbox, out, outside]) fs.mkdirSync(dir);
  fs.writeFileSync(path.join(inbox, "report.csv"), "id,name\n1,Ann\n");
  secret = path.join(outside, "secret.txt");
  fs.writeFileSync(secret, "the secret outside the roots\n");
  config = writeConfig(env.dir, {
    database: { url: env.db.url },
    lockDir: path.join(env.dir, "locks"),
    paths: { readRoots: [inbox], writeRoots: [out, downloads] },
    downloads: { dir: downloads, baseUrl: "https://example.org/dl/" },
    types: Object.fromEntries(["command", "create_alternative_file", "create_download_file"].map((type) => [type, { maxAttempts: 1 }])),
    commands: {
      // As the create_alternative_file tests and scripts/demo.sh had them.
      convert: { argv: ["cp", "{source}", "{output}"] },
      copy: { argv: ["cp", "{file}", "{output}"], pathArgs: { file: "read" } },
      fetch: { argv: ["cp", "{from}", "{output}"] },
      hello: { argv: ["echo", "hello", "{name}"] },
      tool: { argv: ["{program}", "--version"] },
      checksum: { argv: ["sha256sum", "{file}"], pathArgs: { file: "read" } },
    },
  });
});

async function runJob(type: string, data: unknown) {
  const ref = await env.db.insertJob(type, data, { user: "mallory" });
  const run = await runCli(["--job", String(ref)], { config });
  const [row] = await env.db.query<Record<string, any>>("SELECT status, error, log, result FROM job_queue WHERE ref = ?", [ref]);
  return { run, row: row! };
}

const filesIn = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

test("a command row cannot copy a file from outside the roots into them through a create_alternative_file template", async () => {
  const stolen = path.join(out, "stolen.txt");
  const { row } = await runJob("command", { command: "convert", args: { source: secret, output: stolen } });
  assert.equal(row.status, "failed", "the copy must not run");
  assert.equal(row.error, 'command template "convert" is not for command jobs: only create_alternative_file may run it (its usableBy)');
  assert.equal(fs.existsSync(stolen), false, "the outside file was copied into the write root");
});

test("a command row cannot write outside the roots through a template's undeclared {output}", async () => {
  const planted = path.join(outside, "planted.csv");
  const { row } = await runJob("command", { command: "copy", args: { file: path.join(inbox, "report.csv"), output: planted } });
  assert.equal(row.status, "failed", "the write outside the roots must not happen");
  assert.equal(row.error, 'command template "copy" is not for command jobs: only create_alternative_file and create_download_file may run it (its usableBy)');
  assert.equal(fs.existsSync(planted), false, "a file was written outside the roots");
});

test("create_download_file cannot serve a file from outside the roots as a download", async () => {
  const byAlternativeTemplate = await runJob("create_download_file", { command: "convert", args: { source: secret }, output: "loot.txt" });
  assert.equal(byAlternativeTemplate.row.status, "failed");
  assert.equal(
    byAlternativeTemplate.row.error,
    'command template "convert" is not for create_download_file jobs: only create_alternative_file may run it (its usableBy)',
  );
  // A template create_download_file may run, whose source placeholder nobody declared: the row's value is plain text only.
  const byUndeclared = await runJob("create_download_file", { command: "fetch", args: { from: secret }, output: "loot.txt" });
  assert.equal(byUndeclared.row.status, "failed");
  assert.match(
    byUndeclared.row.error,
    /^argument "from" must be plain text \(letters, digits and _ \. @ \+ , -, starting with a letter, digit or _; at most 256 characters\), which ".*secret\.txt" is not$/,
  );
  assert.deepEqual(
    filesIn(downloads).filter((name) => !name.startsWith(".")),
    [],
    "nothing may be served from outside the roots",
  );
});

test("a row cannot give a value that the handler or the runner fills", async () => {
  const planted = path.join(outside, "download.txt");
  const download = await runJob("create_download_file", { command: "copy", args: { file: path.join(inbox, "report.csv"), output: planted } });
  assert.equal(download.row.status, "failed");
  assert.equal(download.row.error, 'job_data.args may not give "output": create_download_file fills {output} itself');
  assert.equal(fs.existsSync(planted), false);
  const alternative = await runJob("create_alternative_file", {
    source: path.join(inbox, "report.csv"),
    output: path.join(out, "a.csv"),
    command: "convert",
    args: { source: secret },
  });
  assert.equal(alternative.row.status, "failed");
  assert.equal(alternative.row.error, 'job_data.args may not give "source": create_alternative_file fills {source} itself');
  const ref = await runJob("command", { command: "hello", args: { name: "x", ref: "../../etc" } });
  assert.equal(ref.row.status, "failed");
  assert.equal(ref.row.error, 'job_data.args may not give "ref": the runner fills {ref} itself');
});

test("the handler-filled placeholders still work for the types that fill them", async () => {
  const output = path.join(out, "copy.csv");
  const alternative = await runJob("create_alternative_file", { source: path.join(inbox, "report.csv"), output, command: "convert" });
  assert.equal(alternative.row.status, "complete", alternative.row.error);
  assert.equal(fs.readFileSync(output, "utf8"), "id,name\n1,Ann\n");
  const download = await runJob("create_download_file", { command: "copy", args: { file: path.join(inbox, "report.csv") }, output: "report.csv" });
  assert.equal(download.row.status, "complete", download.row.error);
  assert.equal(fs.readFileSync(JSON.parse(download.row.result).path, "utf8"), "id,name\n1,Ann\n");
});

test("an undeclared placeholder takes plain text only, never a path or an option", async () => {
  const plain = await runJob("command", { command: "hello", args: { name: "world" } });
  assert.equal(plain.row.status, "complete", plain.row.error);
  assert.match(plain.row.log, /hello world/);
  for (const name of ["/etc/passwd", "../secret", "-n", ".hidden", "a b", "$(id)"]) {
    const { row } = await runJob("command", { command: "hello", args: { name } });
    assert.equal(row.status, "failed", `the undeclared {name} accepted ${JSON.stringify(name)}`);
    assert.match(row.error, /^argument "name" must be plain text \(.*\), which ".*" is not$/);
  }
  const program = await runJob("command", { command: "tool", args: { program: "touch" } });
  assert.equal(program.row.status, "failed", "a row named the program to run");
  assert.equal(program.row.error, 'command template "tool" takes its program from {program}, which it does not declare, so no row may fill it');
});

test("a config written before declarations loads, warning once per template about what to add", async () => {
  const run = await runCli(["--dry-run"], { config });
  assert.equal(run.code, 0, run.stderr);
  const warnings = run.stderr.split("\n").filter((line) => line.includes("does not declare what its placeholders take"));
  const named = (name: string) => warnings.filter((line) => line.includes(`command template \\"${name}\\"`));
  assert.equal(warnings.length, 5, `one warning for each of convert, copy, fetch, hello, tool:\n${warnings.join("\n")}`);
  assert.match(named("convert")[0]!, /only create_alternative_file may run it .*add \\"usableBy\\": \[\\"create_alternative_file\\"\]/);
  assert.match(named("copy")[0]!, /add \\"usableBy\\": \[\\"create_alternative_file\\",\\"create_download_file\\"\]/);
  assert.match(
    named("hello")[0]!,
    /\{name\} takes plain text .* only; to say so, add \\"args\\": \{ \\"name\\": \\"read\\" \| \\"write\\" \| \{ \\"pattern\\": \\"…\\" \} \}/,
  );
  assert.deepEqual(named("checksum"), [], "a template whose placeholders pathArgs declares needs nothing more");
});
