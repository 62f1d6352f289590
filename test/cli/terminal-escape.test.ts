import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { hostConfig, useTestEnvironment } from "../helpers/environment.js";

/**
 * Whoever can INSERT into the job table writes type, user, error, log, result and job_data, and
 * an operator reads them in a terminal with `list`, `show` and `stats`. Control sequences in
 * them must arrive as visible escapes, never as bytes the terminal acts on: ESC[2J clears the
 * screen, OSC 52 sets the clipboard, BEL rings, U+009B is a one-byte CSI, U+202E reverses text.
 */

let config: string;
const env = useTestEnvironment("oj-terminal-", (e) => {
  config = hostConfig(e, "reader");
});

const CLEAR = "\u001b[2J";
const CLIPBOARD = "\u001b]52;c;ZWNobyBwd25lZA==\u0007";
const CSI = "\u009b31m";
const RLO = "\u202e";
const BEL = "\u0007";

/** Any byte or character a terminal would act on, or that reorders or hides text. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/u;

function assertNoRawControl(output: string, what: string): void {
  const found = RAW_CONTROL.exec(output);
  assert.equal(
    found,
    null,
    `${what} printed a raw control character U+${found?.[0].codePointAt(0)!.toString(16).padStart(4, "0")} at ${found?.index}:\n${JSON.stringify(output.slice(Math.max(0, (found?.index ?? 0) - 60), (found?.index ?? 0) + 20))}`,
  );
}

async function hostileRows(): Promise<{ failed: number; pending: number }> {
  await env.db.query("DELETE FROM job_queue");
  const failed = await env.db.insertJob(
    `noop${CLEAR}`,
    { path: `/files/${CLEAR}${CLIPBOARD}` },
    {
      user: `eve${CLIPBOARD}${RLO}gpj.exe`,
      status: "failed",
      attempts: 1,
      error: `it failed${BEL}${CSI}red${CLEAR}`,
      result: JSON.stringify({ notice: `done${CLEAR}${CSI}`, detail: `x${CLIPBOARD}\u2066` }),
      log: `line one${CLEAR}\nline two${CLIPBOARD}\r${RLO}overwritten${CSI}\n`,
      finished_at: new Date().toISOString().slice(0, 19).replace("T", " "),
    },
  );
  const pending = await env.db.insertJob(`mail${CLIPBOARD}`, {}, { user: `bob${CSI}` });
  return { failed, pending };
}

test("list, show and stats print a row's control characters escaped, and --json keeps the exact values", async () => {
  const { failed } = await hostileRows();

  const list = await runCli(["list"], { config });
  assert.equal(list.code, 0, list.stderr);
  assertNoRawControl(list.stdout, "list");
  assert.match(list.stdout, /noop\\u001b\[2J/, "the type is shown, escaped");
  assert.match(list.stdout, /eve\\u001b\]52;c;ZWNobyBwd25lZA==\\u0007\\u202egpj\.exe/, "the user is shown, escaped");

  const show = await runCli(["show", String(failed)], { config });
  assert.equal(show.code, 0, show.stderr);
  assertNoRawControl(show.stdout, "show");
  assert.match(show.stdout, /job_data\s+\{"path":"\/files\/\\u001b\[2J/, "job_data is escaped");
  assert.match(show.stdout, /notice\s+done\\u001b\[2J\\u009b31m/, "the notice is escaped");
  assert.match(show.stdout, /error\s+it failed\\u0007\\u009b31mred\\u001b\[2J/, "the error column is escaped");
  assert.match(show.stdout, /--- log ---\nline one\\u001b\[2J\nline two/, "the log keeps its lines, its controls escaped");
  assert.match(show.stdout, /\\u000d\\u202eoverwritten/, "a carriage return cannot overwrite a printed line");

  const stats = await runCli(["stats"], { config });
  assert.equal(stats.code, 0, stats.stderr);
  assertNoRawControl(stats.stdout, "stats");
  assert.match(stats.stdout, /mail\\u001b\]52/, "types from rows are escaped in the table");

  for (const args of [
    ["list", "--json"],
    ["show", String(failed), "--json"],
    ["stats", "--json"],
  ]) {
    const json = await runCli(args, { config });
    assert.equal(json.code, 0, json.stderr);
    assertNoRawControl(json.stdout, args.join(" "));
    assert.doesNotThrow(() => JSON.parse(json.stdout), `${args.join(" ")} must stay JSON`);
  }
  const exact = JSON.parse((await runCli(["show", String(failed), "--json"], { config })).stdout);
  assert.equal(exact.user, `eve${CLIPBOARD}${RLO}gpj.exe`, "--json gives the exact value back to a parser");
  assert.equal(exact.result.notice, `done${CLEAR}${CSI}`);
});

test("show --follow prints a hostile log and error escaped", async () => {
  const { failed } = await hostileRows();
  const follow = await runCli(["show", String(failed), "--follow"], { config, timeoutMs: 30_000 });
  assert.equal(follow.code, 1, `a failed job's follow exits 1: ${follow.stderr}`);
  assertNoRawControl(follow.stdout, "show --follow");
  assert.match(follow.stdout, /line two\\u001b\]52;c;ZWNobyBwd25lZA==\\u0007\\u000d\\u202eoverwritten\\u009b31m\n/);
  assert.match(follow.stdout, new RegExp(`job ${failed} failed: it failed\\\\u0007\\\\u009b31mred\\\\u001b\\[2J\\n$`));
});
