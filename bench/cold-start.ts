/**
 * Cold start (npm run bench:cold-start, and the last section of npm run bench): how long
 * `offline-jobs run --quiet` takes on an empty queue, the cron run every host makes every
 * minute, beside the reference measured in the same run: `node -e 0`, and a Node process that
 * loads mysql2, connects, runs one query and exits (bench/connect-once.ts). The goal: under
 * twice the second. Each is timed from spawning to exit, the three interleaved so that a
 * busy moment of the shared machine falls on all three; medians of `--runs` (default 21).
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BIN, makeTempDir, runCli, writeConfig } from "../test/helpers/cli.js";
import { createTestDatabase } from "../test/helpers/database.js";
import { median } from "./stats.js";
import { timedNode } from "./timed-node.js";

const CONNECT_ONCE = path.join(path.dirname(fileURLToPath(import.meta.url)), "connect-once.js");

export interface ColdStart {
  /** Wall milliseconds of each spawn, from spawning to exit. */
  node: number[];
  connect: number[];
  run: number[];
}

/** Times the three, interleaved, `runs` times each; the job table behind `config` must be empty. */
export async function measureColdStart(config: string, url: string, runs: number): Promise<ColdStart> {
  const figures: ColdStart = { node: [], connect: [], run: [] };
  for (let i = 0; i < runs; i++) {
    figures.node.push(await timedNode(["-e", "0"]));
    figures.connect.push(await timedNode([CONNECT_ONCE], { ...process.env, OJ_BENCH_URL: url }));
    figures.run.push(await timedNode([BIN, "run", "--quiet", "--config", config]));
  }
  return figures;
}

/** The lines that report a measurement. */
export function coldStartLines(figures: ColdStart): string[] {
  const ms = (values: number[]) => `${median(values).toFixed(0).padStart(5)} ms`;
  const ratio = median(figures.run) / median(figures.connect);
  return [
    `cold start, median of ${figures.run.length} runs each, interleaved:`,
    `  node -e 0                                         ${ms(figures.node)}`,
    `  node, mysql2 loaded, one connection and query     ${ms(figures.connect)}   (the reference)`,
    `  offline-jobs run --quiet, empty queue             ${ms(figures.run)}   ${ratio.toFixed(2)}x the reference (goal: under 2x)`,
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "21" } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs: must be a whole number >= 1");
  const dir = makeTempDir("oj-cold-");
  const test = await createTestDatabase({ migrate: false });
  try {
    const config = writeConfig(dir, { database: { url: test.url }, lockDir: path.join(dir, "locks") });
    const init = await runCli(["init"], { config });
    if (init.code !== 0) throw new Error(`offline-jobs init failed: ${init.stderr}`);
    process.stdout.write(`${coldStartLines(await measureColdStart(config, test.url, runs)).join("\n")}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await test.drop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
