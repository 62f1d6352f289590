import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * metrics.textfile is rewritten atomically after each run, in the Prometheus text
 * exposition format, and `stats --format prometheus` prints the same queue metrics.
 */

const env = useTestEnvironment("oj-metrics-");

// The exposition format's grammar for the lines we write (comments other than HELP/TYPE aside).
const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const VALUE = "(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|NaN|[+-]Inf)";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)?\\})? (${VALUE})$`);
const HELP = new RegExp(`^# HELP (${NAME}) (?:[^\\\\\\n]|\\\\[\\\\n])*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

interface Parsed {
  types: Map<string, string>;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

/** Parses exposition text, failing on any line that is not HELP, TYPE or a sample, or a sample before its TYPE. */
function parseExposition(text: string): Parsed {
  assert.ok(text.endsWith("\n"), "the text ends with a line feed");
  const parsed: Parsed = { types: new Map(), samples: [] };
  const helped = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    const help = HELP.exec(line);
    const type = TYPE.exec(line);
    const sample = SAMPLE.exec(line);
    if (help) helped.add(help[1]!);
    else if (type) {
      assert.ok(!parsed.types.has(type[1]!), `${type[1]} is typed twice`);
      parsed.types.set(type[1]!, type[2]!);
    } else if (sample) {
      assert.ok(parsed.types.has(sample[1]!) && helped.has(sample[1]!), `${sample[1]} has a sample before its HELP and TYPE`);
      const labels: Record<string, string> = {};
      for (const m of (sample[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
      }
      parsed.samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
    } else assert.fail(`not a valid exposition line: ${JSON.stringify(line)}`);
  }
  return parsed;
}

function value(parsed: Parsed, name: string, labels: Record<string, string> = {}): number | undefined {
  return parsed.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe("metrics", () => {
  const dir = () => path.join(env.dir, "textfile_collector");
  const file = () => path.join(dir(), "offline_jobs.prom");
  const config = () => hostConfig(env, "metrics", { metrics: { textfile: "textfile_collector/offline_jobs.prom" } });

  test("after a run, metrics.textfile holds valid exposition text with the queue and the run's figures", { timeout: 60_000 }, async () => {
    fs.mkdirSync(dir(), { recursive: true });
    for (let i = 0; i < 3; i++) await env.db.insertJob("noop", {});
    await env.db.insertJob("noop", { fail: "permanent" });
    await env.db.insertJob("noop", { fail: "transient" }, { max_attempts: 3 });
    await env.db.query("INSERT INTO job_queue (type, job_data, run_after) VALUES ('noop', '{}', NOW(3) + INTERVAL 1 DAY)");

    const before = Math.floor(Date.now() / 1000);
    const result = await runCli(["run"], { config: config() });
    assert.equal(result.code, 0, `the run should exit 0; stderr:\n${tail(result.stderr)}`);

    const parsed = parseExposition(fs.readFileSync(file(), "utf8"));
    assert.equal(value(parsed, "offline_jobs_jobs", { type: "noop", status: "complete" }), 3);
    assert.equal(value(parsed, "offline_jobs_jobs", { type: "noop", status: "failed" }), 1);
    assert.equal(value(parsed, "offline_jobs_jobs", { type: "noop", status: "pending" }), 2, "the retried job and the delayed one");
    assert.equal(value(parsed, "offline_jobs_jobs", { type: "noop", status: "running" }), 0, "a status with no job is present as 0");
    assert.equal(value(parsed, "offline_jobs_oldest_pending_seconds"), 0, "nothing pending is due yet");
    assert.equal(value(parsed, "offline_jobs_last_run_jobs", { outcome: "complete" }), 3);
    assert.equal(value(parsed, "offline_jobs_last_run_jobs", { outcome: "failed" }), 1);
    assert.equal(value(parsed, "offline_jobs_last_run_jobs", { outcome: "retried" }), 1);
    const duration = value(parsed, "offline_jobs_last_run_duration_seconds");
    assert.ok(duration !== undefined && duration > 0, `the run's duration is recorded (${duration})`);
    const ended = value(parsed, "offline_jobs_last_run_timestamp_seconds")!;
    assert.ok(ended >= before && ended <= Date.now() / 1000 + 1, `the run's end time ${ended} lies within the run`);
    for (const [name, type] of parsed.types) assert.equal(type, "gauge", `${name} is a gauge`);
    assert.deepEqual(fs.readdirSync(dir()), ["offline_jobs.prom"], "no temporary file is left beside it");
  });

  test("the next run replaces the file by a rename, never rewriting it in place", { timeout: 60_000 }, async () => {
    const inode = fs.statSync(file()).ino;
    // A reader holding the old file keeps reading whole old content while the new one is written.
    const held = fs.openSync(file(), "r");
    const old = fs.readFileSync(file(), "utf8");
    await env.db.insertJob("noop", {});
    const result = await runCli(["run"], { config: config() });
    assert.equal(result.code, 0, `the run should exit 0; stderr:\n${tail(result.stderr)}`);
    assert.notEqual(fs.statSync(file()).ino, inode, "a new file was renamed over the old one");
    const buffer = Buffer.alloc(old.length + 100);
    const read = fs.readSync(held, buffer, 0, buffer.length, 0);
    fs.closeSync(held);
    assert.equal(buffer.subarray(0, read).toString("utf8"), old, "the file an open reader had is unchanged");
    const parsed = parseExposition(fs.readFileSync(file(), "utf8"));
    assert.equal(value(parsed, "offline_jobs_jobs", { type: "noop", status: "complete" }), 4);
    assert.equal(value(parsed, "offline_jobs_last_run_jobs", { outcome: "complete" }), 1, "the last-run figures are this run's only");
  });

  test("stats --format prometheus prints the queue metrics, label values escaped", { timeout: 60_000 }, async () => {
    const odd = 'odd"type\\with\nbreak';
    await env.db.query("INSERT INTO job_queue (type, job_data, run_after) VALUES (?, '{}', NOW(3) - INTERVAL 90 SECOND)", [odd]);
    const result = await runCli(["stats", "--format", "prometheus"], { config: config() });
    assert.equal(result.code, 0, `stats should exit 0; stderr:\n${tail(result.stderr)}`);
    assert.ok(result.stdout.includes(`type="odd\\"type\\\\with\\nbreak"`), `the type is escaped per the format:\n${result.stdout}`);
    const parsed = parseExposition(result.stdout);
    assert.equal(value(parsed, "offline_jobs_jobs", { type: odd, status: "pending" }), 1, "the escaped label reads back as the type");
    assert.equal(value(parsed, "offline_jobs_jobs", { type: "noop", status: "complete" }), 4);
    const oldest = value(parsed, "offline_jobs_oldest_pending_seconds")!;
    assert.ok(oldest >= 90 && oldest < 600, `the oldest due job has waited about 90 s, not ${oldest}`);
    assert.equal(value(parsed, "offline_jobs_last_run_jobs"), undefined, "stats has no run of its own to report");

    const json = await runCli(["stats", "--json"], { config: config() });
    assert.equal(json.code, 0);
    assert.equal((JSON.parse(json.stdout) as { types: Record<string, Record<string, number>> }).types.noop?.complete, 4, "--json still prints counts");
    const table = await runCli(["stats"], { config: config() });
    assert.match(table.stdout, /^TYPE\s+PENDING/m, "the table is still the default");
  });

  test("stats rejects an unknown --format as a usage error", { timeout: 30_000 }, async () => {
    const result = await runCli(["stats", "--format", "xml"], { config: config() });
    assert.equal(result.code, 2, `expected exit 2; stderr:\n${tail(result.stderr)}`);
  });
});
