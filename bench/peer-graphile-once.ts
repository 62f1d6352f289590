/**
 * bench/peers.ts's cold graphile-worker: a process that runs every job there is (runOnce,
 * concurrency 8, a no-op task) in the schema OJ_PG_SCHEMA at OJ_PG_URL, and exits.
 */
import { Logger, runOnce } from "graphile-worker";

await runOnce({
  connectionString: process.env.OJ_PG_URL!,
  schema: process.env.OJ_PG_SCHEMA!,
  concurrency: 8,
  noHandleSignals: true,
  logger: new Logger(() => () => undefined),
  taskList: { noop: async () => undefined },
});
