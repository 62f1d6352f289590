import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { collect, startCli, type CliResult } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";
import { readZip } from "../helpers/zip.js";
import { addClassWorld, addClip, classRows, PRESETS, redDerived, startSwapFlipper, type ClassWorld } from "./hostile-classes.js";
import { hostileRows, type HostileRow } from "./hostile-rows.js";
import { addPhoto, filesUnder, makeHostileWorld, snapshot, snapshotDiff, type HostileWorld } from "./hostile-world.js";

/**
 * SECURITY.md's promises under attack: over a thousand rows of hostile job_data across every built-in
 * type, inserted as an application would (plain INSERT), run by real `offline-jobs run
 * --max-jobs 4` processes until the queue is drained. Every job must end, every failure must
 * read as one clear sentence, and nothing outside the roots may be read, written or deleted:
 * a canary folder reachable through symlinks from inside the roots stays byte-for-byte the
 * same, and shell metacharacters reach a command template as plain argv.
 */

const TYPES = ["noop", "command", "create_previews", "create_alternative_file", "create_download_file", "collection_download", "delete_file", "extract_text"];
/** Rows of the application's own table that the text sink may update; 7777 no job names. */
const UNTOUCHED_RESOURCE = 7777;

let world: HostileWorld;
let classWorld: ClassWorld;
/** swap-out (where a swapped folder leads outputs and deletions) before the drain. */
let swapOutBefore: Map<string, string>;
let rows: HostileRow[];
/** After the drain: the runs, and each row's job (same order as rows). */
let runs: CliResult[];
let jobs: JobRow[];
/** Snapshots taken before the rows were inserted. */
let canaryBefore: Map<string, string>;
let outsideBefore: Map<string, string>;
const skipOutside = (relative: string) => relative === "roots" || relative.startsWith("locks-") || relative === "swap-out";

// Everything happens in the environment's setup (Node 20 runs a file's before hooks
// concurrently); the tests then look at what the drained queue and the disk show.
const env = useTestEnvironment("oj-hostile-", async ({ dir, db }) => {
  world = makeHostileWorld(dir);
  await addPhoto(world);
  addClip(world);
  classWorld = await addClassWorld(world);
  await db.query("CREATE TABLE resource_text (resource BIGINT PRIMARY KEY, body LONGTEXT)");
  await db.query("INSERT INTO resource_text VALUES (1, 'original'), (?, 'original')", [UNTOUCHED_RESOURCE]);
  // A shell script whose job values are positional parameters ("$1"), never part of the script text.
  const writeArg = ["sh", "-c", 'printf "%s\\n" "$1" > "$0"', "{output}", "{a}"];
  // Hostile text must reach these templates as it is: any text at all (NUL aside, which no argv holds).
  const anyText = { pattern: "[\\s\\S]*" };
  const config = hostConfig(env, "hostile", {
    leaseSeconds: 30, // a 3 MB job_data on a busy CI machine must not look like a lost worker
    lockStaleSeconds: 10,
    paths: { readRoots: [world.files], writeRoots: [world.out, world.downloads] },
    downloads: { dir: world.downloads, baseUrl: "https://example.org/dl/" },
    previews: { sizes: { thm: { width: 16, height: 16 }, pre: { width: 32, height: 32 } } },
    commands: {
      // pathArgs, the older spelling of args' "read" / "write", on the templates that still use it.
      dump: {
        argv: [process.execPath, world.argvDump, "{out}", "{a}", "{b}", "ref={ref}", "user={user}"],
        pathArgs: { out: "write" },
        args: { a: anyText, b: anyText },
        timeoutSeconds: 30,
      },
      echo: { argv: ["echo", "{a}"], args: { a: anyText } },
      copy: { argv: ["cp", "--", "{src}", "{dst}"], pathArgs: { src: "read", dst: "write" }, timeoutSeconds: 10 },
      convert: { argv: writeArg, args: { a: anyText }, usableBy: ["create_alternative_file"] },
      download: { argv: writeArg, args: { a: anyText }, usableBy: ["create_download_file"] },
    },
    ffmpegPresets: PRESETS,
    extractText: { sink: { sql: "UPDATE resource_text SET body = :text WHERE resource = :resource" } },
    // A transient failure is retried at once, so that one run drains the queue and the
    // attempts column shows whether bad input was (wrongly) treated as worth retrying.
    types: Object.fromEntries(TYPES.map((type) => [type, { maxAttempts: 2, backoff: { initialSeconds: 0, maxSeconds: 0 } }])),
  });

  rows = hostileRows(world);
  rows.push(...classRows(world, classWorld, rows.length + 1));
  canaryBefore = snapshot(world.canary);
  outsideBefore = snapshot(world.dir, skipOutside);
  swapOutBefore = snapshot(classWorld.swapOut);
  const refs = await insertRows(rows);
  const flipper = startSwapFlipper(classWorld.swaps);
  try {
    runs = await drain(config);
  } finally {
    await flipper.stop();
  }
  const byRef = new Map((await db.query<JobRow>("SELECT ref, type, status, attempts, error, user FROM job_queue")).map((j) => [String(j.ref), j]));
  jobs = refs.map((ref) => byRef.get(ref)!);
});

interface JobRow {
  ref: number;
  type: string;
  status: string;
  attempts: number;
  error: string | null;
  user: string | null;
}

test("over a thousand hostile rows cover every built-in type", () => {
  assert.ok(rows.length >= 1000, `the suite should have at least 1,000 hostile rows, it has ${rows.length}`);
  assert.deepEqual(
    [...new Set(rows.filter((r) => r.expect !== "pending").map((r) => r.type))].sort(),
    [...TYPES].sort(),
    "every built-in type gets hostile rows",
  );
});

test("nothing outside the roots is written, changed or deleted: the canary reachable through symlinks is byte-for-byte the same", () => {
  assert.deepEqual(snapshotDiff(canaryBefore, snapshot(world.canary)), [], "the canary folder outside the roots must be untouched");
  assert.deepEqual(snapshotDiff(outsideBefore, snapshot(world.dir, skipOutside)), [], "no file may appear, change or vanish outside the roots");
  assert.deepEqual(fs.readdirSync(world.cwd), [], "nothing may be written to the run's working directory");
});

test("nothing outside the roots is read: the canary's secret is in no file inside them, no job row and no sink row", async () => {
  // The "-evil" siblings of the roots hold the secret themselves: they are outside the roots.
  for (const file of filesUnder(path.join(world.dir, "roots")).filter((f) => !f.includes("-evil/"))) {
    assert.ok(!fs.readFileSync(file).includes(world.secret), `${file} holds the canary's secret: a job read outside the roots`);
  }
  const leaked = await env.db.query("SELECT ref FROM job_queue WHERE LOCATE(?, CONCAT_WS('', result, log, error)) > 0", [world.secret]);
  assert.deepEqual(leaked, [], "no job's result, log or error may hold the canary's secret");
  const texts = await env.db.query<{ resource: number; body: string }>("SELECT resource, body FROM resource_text ORDER BY resource");
  assert.equal(
    texts.find((r) => Number(r.resource) === UNTOUCHED_RESOURCE)?.body,
    "original",
    "the text sink updated a row no job named (SQL built from job_data?)",
  );
  assert.ok(
    texts.every((r) => !r.body.includes(world.secret)),
    "the text sink stored the canary's secret",
  );
});

test("every path that would leave the roots fails its job", () => {
  const escaped = rows.flatMap((row, i) =>
    row.escapes && jobs[i]!.status !== "failed" ? [`job ${jobs[i]!.ref} (${row.label}) ended ${jobs[i]!.status}`] : [],
  );
  assert.deepEqual(escaped, [], "these jobs reached outside the roots");
});

test("the runs exit 0, with only info and warning lines on stderr", () => {
  runs.forEach((run, i) => {
    assert.equal(run.code, 0, `run ${i} exited ${run.code ?? run.signal}; stderr:\n${tail(run.stderr)}`);
    const errors = run.stderr.split("\n").filter((line) => line.trim() && !/"level":"(info|warn|debug)"/.test(line));
    assert.deepEqual(errors, [], `run ${i} logged errors or lines that are not JSON log lines`);
  });
});

test("every job ends as it should, bad input fails at its first attempt, and every error is one clear sentence", (t) => {
  const problems: string[] = [];
  rows.forEach((row, i) => {
    const job = jobs[i]!;
    const where = `job ${job.ref} (${row.label})`;
    if (row.expect === "pending") {
      if (job.status !== "pending" || Number(job.attempts) !== 0)
        problems.push(`${where}: a type no handler takes must stay pending and untouched, is ${job.status} after ${job.attempts} attempts`);
      return;
    }
    if (job.status !== "complete" && job.status !== "failed") return void problems.push(`${where} ended ${job.status}`);
    if (row.expect && job.status !== row.expect) problems.push(`${where} should be ${row.expect}, is ${job.status}${job.error ? `: ${job.error}` : ""}`);
    if (job.status !== "failed") return;
    const why = unclear(job.error, row);
    if (why) problems.push(`${where}: its error is not one clear sentence (${why}): ${JSON.stringify(job.error?.slice(0, 300))}`);
    // A row may come with attempts already counted; the count stops at the column's maximum.
    const attempts = Math.min(Number(row.columns?.attempts ?? 0) + 1, 65535);
    if (Number(job.attempts) !== attempts && !row.transient)
      problems.push(`${where} was retried (${job.attempts} attempts): bad input must fail at once, but got ${job.error}`);
  });
  const complete = jobs.filter((job) => job.status === "complete").length;
  t.diagnostic(
    `${rows.length} hostile rows: ${complete} complete, ${jobs.filter((job) => job.status === "failed").length} failed, ${jobs.filter((job) => job.status === "pending").length} pending (types no handler takes)`,
  );
  // Rows per class, and the problems found in each, so that a failing class is named at once.
  const classes = new Map<string, { rows: number; complete: number; failed: number; problems: number }>();
  rows.forEach((row, i) => {
    const klass = row.klass ?? "instances";
    const entry = classes.get(klass) ?? { rows: 0, complete: 0, failed: 0, problems: 0 };
    entry.rows++;
    if (jobs[i]!.status === "complete") entry.complete++;
    if (jobs[i]!.status === "failed") entry.failed++;
    if (problems.some((p) => p.startsWith(`job ${jobs[i]!.ref} (`))) entry.problems++;
    classes.set(klass, entry);
  });
  for (const [klass, c] of [...classes].sort())
    t.diagnostic(`class ${klass}: ${c.rows} rows, ${c.complete} complete, ${c.failed} failed, ${c.problems} ended wrongly`);
  // HOSTILE_REPORT=file: every row's outcome, for reading the messages by eye.
  if (process.env.HOSTILE_REPORT) {
    const lines = rows.map((row, i) =>
      [jobs[i]!.ref, row.label.replace(/[\s\S]{80,}/, (l) => `${l.slice(0, 80)}…`), jobs[i]!.status, jobs[i]!.attempts, jobs[i]!.error]
        .map((v) => JSON.stringify(v))
        .join("\t"),
    );
    fs.writeFileSync(process.env.HOSTILE_REPORT, [...problems, ...lines].join("\n"));
  }
  assert.deepEqual(problems.slice(0, 40), [], `${problems.length} hostile rows ended wrongly (first 40 shown)`);
});

test("shell metacharacters reach a command template as literal argv, and nothing runs them", () => {
  const dumped = rows.flatMap((row, i) => (row.dump ? [{ row, job: jobs[i]! }] : []));
  assert.ok(dumped.length >= 50, `rows sending metacharacters to the argv-dumping template: ${dumped.length}`);
  for (const { row, job } of dumped) {
    assert.equal(job.status, "complete", `job ${job.ref} (${row.label}): ${job.error}`);
    const argv = JSON.parse(fs.readFileSync(row.dump!.file, "utf8")) as string[];
    const expected = [row.dump!.a, row.dump!.b, `ref=${job.ref}`, `user=${job.user ?? ""}`].map(wellFormed);
    assert.deepEqual(argv, expected, `job ${job.ref} (${row.label}): the template's argv is not the literal text`);
  }
  // "$(touch canary/pwned-…)" and the like: the canary test shows nothing appeared there either.
});

test("downloads have unguessable plain names; zip entries cannot climb out or hide their names; no temporary file is left", async () => {
  const names = fs.readdirSync(world.downloads);
  assert.ok(
    names.some((n) => n.endsWith(".zip")),
    "some collections were zipped",
  );
  for (const name of names) {
    assert.match(name, /^[0-9a-f]{32}-[\p{L}\p{N}._-]+$/u, `download name ${JSON.stringify(name)} is not a random prefix plus a plain name`);
    if (!name.endsWith(".zip")) continue;
    for (const item of await readZip(path.join(world.downloads, name))) {
      const entry = JSON.stringify(item.name);
      assert.doesNotMatch(item.name, /(^|\/)\.\.(\/|$)|^\/|\\|^[A-Za-z]:|[<>:"|?*]/, `zip entry ${entry} in ${name} could escape or is not a portable name`);
      assert.doesNotMatch(
        item.name,
        /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/,
        `zip entry ${entry} in ${name} has control or bidi characters`,
      );
      assert.ok(!item.data!.includes(world.secret), `zip entry ${entry} in ${name} holds the canary's secret`);
    }
  }
  // In a swapped folder the clean-up itself can be led outside: the test below reports those.
  for (const file of filesUnder(path.join(world.dir, "roots")).filter((f) => !f.includes("/swap/"))) {
    assert.doesNotMatch(path.basename(file), /\.tmp/, `${file}: a temporary file was left behind`);
  }
});

// Sources of the built-in handlers are checked again once opened (SECURITY.md, "Paths");
// outputs and deletions are not yet (a handler writes, renames and removes by path, and Node has
// no openat()/renameat() to pin the folder), nor a command template's read paths (its program
// opens them by name). Kept as a todo so that the suite shows what still gets through.
const WRITE_RACE = 'outputs, deletions and command templates\' read paths through a folder swapped after the check are a residual risk (SECURITY.md, "Paths")';

test("a folder swapped for a symlink while jobs run never leads an output or a deletion outside the roots", { todo: WRITE_RACE }, () => {
  const changed = snapshotDiff(swapOutBefore, snapshot(classWorld.swapOut));
  const inRoots = filesUnder(path.join(world.dir, "roots")).filter((f) => !f.includes("-evil/"));
  const left = inRoots.filter((f) => f.includes("/swap/") && /\.tmp/.test(path.basename(f)));
  // Command templates get their read paths by name: a swap can still feed them the outside file.
  const read = inRoots.filter((f) => fs.readFileSync(f).includes(classWorld.swapSecret));
  const found = [
    ...changed,
    ...left.map((f) => `temporary left: ${path.relative(world.dir, f)}`),
    ...read.map((f) => `read through a swap by a command template: ${path.relative(world.dir, f)}`),
  ];
  assert.deepEqual(found.slice(0, 20), [], `${found.length} outputs, deletions, leftovers or template reads through a swapped folder (first 20 shown)`);
});

test("no output derives from outside content: no image made from the red outside photo or the video a playlist names", async () => {
  const derived = (await redDerived(path.join(world.dir, "roots"))).filter((f) => !f.includes("-evil/"));
  // A playlist holds no media of its own: a preview or transcode of one that completed was made from what it names.
  derived.push(
    ...rows.flatMap((row, i) =>
      row.playlist && /^(create_previews|alternative-preset): source /.test(row.label) && jobs[i]!.status === "complete"
        ? [`job ${jobs[i]!.ref} (${row.label}) completed`]
        : [],
    ),
  );
  const sources = rows.flatMap((row, i) =>
    (row.swap || row.playlist) && jobs[i]!.status === "complete" && row.type !== "collection_download" ? [`${jobs[i]!.ref} ${row.label}`] : [],
  );
  assert.deepEqual(
    derived.map((file) => (file.startsWith("/") ? path.relative(world.dir, file) : file)),
    [],
    `outputs derived from outside content; completed swap/playlist jobs: ${sources.slice(0, 10).join("; ")}`,
  );
});

test("list and show print the control class's type, user, notice and error texts with every terminal control escaped", async () => {
  const config = path.join(env.dir, "hostile.json");
  // The row columns (type, user, the notice texts) and a job_data string, a few of each: every show is a process.
  const picked = new Map<string, JobRow>();
  rows.forEach((row, i) => {
    const column = row.columns ? Object.keys(row.columns)[0]! : row.field === "type" || row.field === "user" || row.field === "source" ? row.field : undefined;
    if (row.klass === "text:controls" && column && !picked.has(`${column}-${i % 3}`)) picked.set(`${column}-${i % 3}`, jobs[i]!);
  });
  const outputs: Array<[string, CliResult]> = [["list", await collect(startCli(["list", "--limit", "5000"], { config, cwd: world.cwd }))]];
  for (const job of picked.values()) outputs.push([`show ${job.ref}`, await collect(startCli(["show", String(job.ref)], { config, cwd: world.cwd }))]);
  const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]/;
  const found = outputs.flatMap(([command, run]) => {
    const line = (run.stdout + run.stderr).split("\n").find((l) => raw.test(l));
    return line === undefined ? [] : [`${command}: ${JSON.stringify(line.slice(0, 160))}`];
  });
  assert.deepEqual(found, [], `${found.length} of ${outputs.length} commands printed raw terminal or bidi controls`);
});

/** INSERTs the rows in order, a few megabytes per statement, and returns their refs. */
async function insertRows(rows: HostileRow[]): Promise<string[]> {
  let batch: unknown[][] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length) await env.db.query("INSERT INTO job_queue (type, job_data, user) VALUES ?", [batch]);
    batch = [];
    bytes = 0;
  };
  for (const row of rows) {
    if (row.columns) {
      // A row with columns of its own (a class row at a column's limit) goes in alone, in its place.
      await flush();
      const names = ["type", "job_data", "user", ...Object.keys(row.columns)];
      await env.db.query(`INSERT INTO job_queue (${names.join(", ")}) VALUES (?)`, [[row.type, row.jobData, row.user, ...Object.values(row.columns)]]);
      continue;
    }
    if (bytes + row.jobData.length > 6_000_000) await flush();
    batch.push([row.type, row.jobData, row.user]);
    bytes += row.jobData.length;
  }
  await flush();
  const refs = (await env.db.query<{ ref: number }>("SELECT ref FROM job_queue ORDER BY ref")).map((r) => String(r.ref));
  assert.equal(refs.length, rows.length, "every hostile row was inserted");
  return refs;
}

/** Two overlapping runs sharing --max-jobs 4, then more runs until nothing is pending or running. */
async function drain(config: string): Promise<CliResult[]> {
  const start = () => collect(startCli(["run", "--max-jobs", "4"], { config, cwd: world.cwd }), 200_000);
  const runs = await Promise.all([start(), start()]);
  for (let round = 0; round < 5; round++) {
    const [left] = await env.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE status IN ('pending', 'running') AND type IN (?)", [TYPES]);
    if (Number(left!.n) === 0) break;
    runs.push(await start());
  }
  return runs;
}

/** Why an error is not one clear sentence; undefined when it is. */
function unclear(error: string | null, row: HostileRow): string | undefined {
  if (!error || error.trim().length < 10) return "empty or too short";
  if (/[\r\n]/.test(error)) return "more than one line";
  if (error.length > 400) return `${error.length} characters`;
  if (/\n\s+at |\bat \S+ \(.*:\d+:\d+\)|\.[jt]s:\d+/.test(error)) return "a stack trace";
  if (/\bundefined\b|\[object \w+\]/.test(error)) return 'says "undefined" or "[object …]"';
  if (
    /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(
      error,
    )
  ) {
    return "raw control, bidi or broken characters";
  }
  // A schema error names the field it is about.
  if (row.field && error.startsWith("job_data is invalid") && !error.includes(row.field.split(".")[0]!)) return `does not name ${row.field}`;
  return undefined;
}

/** What spawn passes for a string with lone surrogates (UTF-8 has no such thing). */
function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}
