import assert from "node:assert/strict";
import { test } from "node:test";
import { applyMigrations, checkSchema, SCHEMA_VERSION } from "../../src/queue/migrations.js";
import { useTestDatabase } from "../helpers/database.js";

/**
 * Version 2 adds the jobs page's indexes to a table of version 1 (keeping its rows), and an
 * init that died after the ALTER but before recording the version finishes on the next try.
 */

const t = useTestDatabase();

async function indexes(): Promise<Record<string, string>> {
  const found = await t.query<{ Key_name: string; Column_name: string; Seq_in_index: number }>("SHOW INDEX FROM job_queue");
  const byName: Record<string, string[]> = {};
  for (const row of found.sort((a, b) => Number(a.Seq_in_index) - Number(b.Seq_in_index))) (byName[row.Key_name] ??= []).push(row.Column_name);
  return Object.fromEntries(Object.entries(byName).map(([name, columns]) => [name, columns.join(",")]));
}

async function backToVersion1(): Promise<void> {
  await t.query(
    "ALTER TABLE job_queue DROP KEY job_queue_status_type, DROP KEY job_queue_user_status, DROP KEY job_queue_created, DROP KEY job_queue_priority, DROP KEY job_queue_user_created, DROP KEY job_queue_user_priority, ADD KEY job_queue_user (user)",
  );
  await t.query("DELETE FROM job_queue_migrations WHERE version = 2");
}

test("version 2 turns a version 1 table's indexes into the jobs page's, keeping its rows", async () => {
  assert.equal(SCHEMA_VERSION, 2);
  await backToVersion1();
  await t.insertJob("noop", { a: 1 }, { user: "alice" });
  await assert.rejects(checkSchema(t.db), /schema version 1, this offline-jobs needs 2: run offline-jobs init/);
  const applied = await applyMigrations(t.db);
  assert.deepEqual([applied.from, applied.to], [1, 2]);
  assert.deepEqual(await indexes(), {
    PRIMARY: "ref",
    job_queue_active_code: "active_code",
    job_queue_claim: "status,priority,ref",
    job_queue_status_type: "status,type,finished_at,started_at",
    job_queue_user_status: "user,status,type,finished_at,started_at",
    job_queue_created: "created_at",
    job_queue_priority: "priority",
    job_queue_user_created: "user,created_at",
    job_queue_user_priority: "user,priority",
  });
  const [row] = await t.query<{ n: number }>("SELECT COUNT(*) AS n FROM job_queue WHERE user = 'alice'");
  assert.equal(Number(row!.n), 1);
  await checkSchema(t.db);
});

test("an init that died after the ALTER, before recording version 2, completes on the next run", async () => {
  await t.query("DELETE FROM job_queue_migrations WHERE version = 2");
  const applied = await applyMigrations(t.db);
  assert.deepEqual([applied.from, applied.to], [1, 2], "the indexes were there already: the version is recorded, not an error");
  await checkSchema(t.db);
});
