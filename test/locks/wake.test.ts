import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { listenForWakes, wakeWorkers, WAKE_GAP_MS } from "../../src/locks/wake.js";
import { makeTempDir, runCli, sleep, startCli, collect, waitFor } from "../helpers/cli.js";
import { hostConfig, useTestEnvironment } from "../helpers/environment.js";

/**
 * add and enqueue() wake the workers of their host with a datagram to the port each worker
 * records in the lock folder; a waiting worker then claims at once instead of at its next poll.
 */

const env = useTestEnvironment("oj-wake-");

test("a wake reaches every listener in the lock folder, and a dead worker's port file is removed", async () => {
  const lockDir = makeTempDir("oj-wake-locks-");
  const heard: string[] = [];
  const first = await listenForWakes(lockDir, () => heard.push("first"));
  // A second worker of the host: another port file (this process can only listen once per pid, so write it by hand).
  const second = await listenForWakes(path.join(lockDir, "other"), () => heard.push("second"));
  fs.copyFileSync(path.join(lockDir, "other", `wake-${process.pid}.port`), path.join(lockDir, `wake-${process.ppid}.port`));
  fs.writeFileSync(path.join(lockDir, "wake-999999999.port"), "9"); // no such process
  try {
    assert.equal(await wakeWorkers(lockDir), 2, "two live workers were told");
    await waitFor(() => heard.length === 2, "both listeners to hear the wake", 2000);
    assert.deepEqual(heard.sort(), ["first", "second"]);
    assert.equal(fs.existsSync(path.join(lockDir, "wake-999999999.port")), false, "a dead worker's port file is removed");
  } finally {
    await first.close();
    await second.close();
  }
  assert.equal(fs.existsSync(path.join(lockDir, `wake-${process.pid}.port`)), false, "closing removes the port file");
  assert.equal(await wakeWorkers(path.join(lockDir, "missing")), 0, "no lock folder: nobody to wake, no error");
});

test("a flood of wakes is joined: at most one wake per gap reaches the worker", async () => {
  const lockDir = makeTempDir("oj-wake-flood-");
  let heard = 0;
  const listener = await listenForWakes(lockDir, () => heard++);
  try {
    const started = Date.now();
    for (let i = 0; i < 50; i++) await wakeWorkers(lockDir);
    await sleep(WAKE_GAP_MS * 3);
    const elapsed = Date.now() - started;
    assert.ok(heard >= 1, "the wake is not lost");
    assert.ok(heard <= Math.ceil(elapsed / WAKE_GAP_MS) + 1, `${heard} wakes in ${elapsed} ms is more than one per ${WAKE_GAP_MS} ms`);
  } finally {
    await listener.close();
  }
});

test("a worker records its wake port in the lock folder while it runs, and `add` wakes it", async () => {
  const lockDir = path.join(env.dir, "locks-wake-worker");
  const config = hostConfig(env, "host-a", { lockDir }, "wake-worker");
  const worker = startCli(["work", "--sleep", "60", "--max-jobs", "1"], { config });
  const ended = collect(worker, 60_000);
  try {
    const portFile = await waitFor(
      () => (fs.existsSync(lockDir) ? fs.readdirSync(lockDir).find((name) => /^wake-\d+\.port$/.test(name)) : undefined),
      "the worker's port file",
      20_000,
    );
    const add = await runCli(["add", "noop"], { config });
    assert.equal(add.code, 0, add.stderr);
    const ref = Number(add.stdout.trim());
    await waitFor(
      async () => (await env.db.query<{ status: string }>("SELECT status FROM job_queue WHERE ref = ?", [ref]))[0]?.status === "complete",
      `job ${ref} to run`,
      20_000,
    );
    await runCli(["restart"], { config });
    await ended;
    assert.equal(fs.existsSync(path.join(lockDir, portFile)), false, "the port file goes with the worker");
  } finally {
    await runCli(["restart"], { config });
    await ended;
  }
});
