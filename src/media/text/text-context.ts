import type { JobContext } from "../../job/handler.js";

/** What the extractors need of a job's context (the benchmark builds one of its own). */
export interface TextContext {
  exec: JobContext["exec"];
  signal: AbortSignal;
  log: Pick<JobContext["log"], "info" | "warn">;
  progress?(percent: number): void;
}
