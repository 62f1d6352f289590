import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * `export --csv` (docs/operations.md, "Looking at jobs"): AtoM's columns plus ref, RFC 4180 quoting, formula cells defused,
 * every row of a large table (paged by ref), the same filters as `list`.
 */

let config: string;
const env = useTestEnvironment("oj-export-", (e) => {
  config = hostConfig(e, "exporter");
});

/** An RFC 4180 reader, strict enough to catch bad quoting: a stray quote inside an unquoted field throws. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = "";
    if (text[i] === '"') {
      for (i++; ; i++) {
        if (i >= text.length) throw new Error("unterminated quoted field");
        if (text[i] === '"' && text[i + 1] === '"') field += text[i++];
        else if (text[i] === '"') break;
        else field += text[i];
      }
      i++;
    } else {
      while (i < text.length && text[i] !== "," && text[i] !== "\r") {
        if (text[i] === '"' || text[i] === "\n") throw new Error(`unquoted field holds ${JSON.stringify(text[i])} at ${i}`);
        field += text[i++];
      }
    }
    record.push(field);
    if (text[i] === ",") i++;
    else if (text.startsWith("\r\n", i)) {
      records.push(record);
      record = [];
      i += 2;
    } else throw new Error(`expected , or CRLF at ${i}, found ${JSON.stringify(text.slice(i, i + 10))}`);
  }
  assert.equal(record.length, 0, "the last record ends with CRLF");
  return records;
}

async function exportCsv(...args: string[]): Promise<string[][]> {
  const run = await runCli(["export", "--csv", ...args], { config });
  assert.equal(run.code, 0, `export ${args.join(" ")} exited ${run.code}: ${tail(run.stderr)}`);
  return parseCsv(run.stdout);
}

test("export --csv quotes commas, quotes and newlines, defuses formula-looking cells, and reads back to the same values", async () => {
  await env.db.query("DELETE FROM job_queue");
  const complete = await env.db.insertJob(
    "record",
    {},
    {
      status: "complete",
      user: 'smith, "jo"',
      result: JSON.stringify({ notice: '=HYPERLINK("https://evil.example","click")' }),
      started_at: "2024-05-01 10:00:01.000",
      finished_at: "2024-05-01 10:00:02.500",
      created_at: "2024-05-01 10:00:00.250",
    },
  );
  const failed = await env.db.insertJob(
    "record",
    {},
    {
      status: "failed",
      user: "@admin",
      error: 'convert said:\r\nline two, with a comma\nand "quotes"',
      created_at: "2024-05-02 08:00:00.000",
      finished_at: "2024-05-02 08:00:03.000",
    },
  );
  const running = await env.db.insertJob("record", {}, { status: "running", user: "+plus", attempts: 1, locked_by: "web-1:42", progress: 40 });
  const pending = await env.db.insertJob("record", {}, { user: "-minus" });

  const [header, ...rows] = await exportCsv();
  assert.deepEqual(header, ["startDate", "endDate", "jobName", "jobStatus", "jobInfo", "jobUser", "ref"], "AtoM's columns, then ref");
  assert.deepEqual(
    rows.map((r) => r[6]),
    [complete, failed, running, pending].map(String),
    "oldest first, one record per job",
  );
  assert.deepEqual(
    rows[0],
    [
      "2024-05-01 10:00:00.250",
      "2024-05-01 10:00:02.500",
      "record",
      "complete",
      '\'=HYPERLINK("https://evil.example","click")',
      'smith, "jo"',
      String(complete),
    ],
    "a complete job: its notice as jobInfo, the formula defused, the user's comma and quotes intact",
  );
  assert.deepEqual(
    rows[1]!.slice(3, 6),
    ["failed", 'convert said:\r\nline two, with a comma\nand "quotes"', "'@admin"],
    "a failed job: its error, newlines kept inside the field",
  );
  assert.deepEqual(rows[2]!.slice(1, 6), ["", "record", "running", "attempt 1 on web-1:42, 40%", "'+plus"], "a running job: who runs it");
  assert.equal(rows[3]![5], "'-minus", "a cell starting with - is defused");
});

test("export --csv takes list's filters and pages through more rows than one page holds", async () => {
  await env.db.query("DELETE FROM job_queue");
  // 2500 rows: three pages of 1000, so a paging mistake loses or repeats rows.
  await env.db.query(
    "INSERT INTO job_queue (type, job_data, user, status) SELECT 'record', '{}', 'bulk', IF(seq % 5 = 0, 'failed', 'complete') FROM seq_1_to_2500",
  );
  await env.db.insertJob("noop", {}, { user: "other", created_at: new Date(Date.now() - 10 * 86_400_000) });

  const all = (await exportCsv("--user", "bulk")).slice(1);
  assert.equal(all.length, 2500, "every row of the user's, across pages");
  const refs = all.map((r) => Number(r[6]));
  assert.ok(
    refs.every((ref, i) => i === 0 || ref > refs[i - 1]!),
    "ascending refs, none repeated",
  );

  assert.equal((await exportCsv("--status", "failed")).length - 1, 500, "--status");
  assert.deepEqual(
    (await exportCsv("--type", "noop")).slice(1).map((r) => r[5]),
    ["other"],
    "--type",
  );
  assert.equal((await exportCsv("--since", "1w")).length - 1, 2500, "--since leaves out the job made 10 days ago");
  assert.equal((await exportCsv("--user", "nobody")).length, 1, "no match: the header alone");

  const noFormat = await runCli(["export"], { config });
  assert.equal(noFormat.code, 2, "export without --csv is a usage error");
  assert.match(noFormat.stderr, /--csv/);
});
