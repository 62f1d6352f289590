import os from "node:os";
import path from "node:path";
import { z } from "zod";

/**
 * The config file's schema: every option, its default, and the one place they are
 * checked. config.example.json documents the same names; test/config/config-example.test.ts
 * keeps the two in step. Paths are resolved relative to the config file by load-config.ts, not here.
 */

const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,40}$/, "must be a plain SQL identifier (letters, digits, _; at most 41 characters)");

const positiveInt = z.number().int().min(1);

export const typeOptionsSchema = z
  .object({
    concurrency: positiveInt.optional(),
    timeoutSeconds: z.number().positive().max(7 * 24 * 3600).optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    backoff: z
      .object({
        initialSeconds: z.number().min(0).max(86_400).default(10),
        maxSeconds: z.number().min(0).max(7 * 86_400).default(3600),
      })
      .strict()
      .optional(),
    onLost: z.enum(["retry", "fail"]).optional(),
    hidden: z.boolean().optional(),
  })
  .strict();

export const commandTemplateSchema = z
  .object({
    argv: z.array(z.string()).min(1, "needs at least the program name"),
    timeoutSeconds: z.number().positive().max(7 * 24 * 3600).default(600),
    cwd: z.string().optional(),
    /** Exit codes that mean "try again later" (everything else non-zero fails the job at once). */
    transientExitCodes: z.array(z.number().int()).default([]),
    /**
     * Arguments that are paths, and which roots they must lie under ("read": paths.readRoots,
     * "write": paths.writeRoots). They are resolved (symlinks too) before the command runs.
     */
    pathArgs: z.record(z.string(), z.enum(["read", "write"])).default({}),
  })
  .strict();

export const configSchema = z
  .object({
    database: z
      .object({
        url: z.string().optional(),
        table: identifier.default("job_queue"),
        poolSize: positiveInt.max(64).default(4),
      })
      .strict()
      .default({ table: "job_queue", poolSize: 4 }),
    hostName: z.string().min(1).max(100).default(os.hostname()),
    lockDir: z.string().default(path.join(os.tmpdir(), "offline-jobs")),
    /** A lock whose holder stopped refreshing it this long ago is taken over. */
    lockStaleSeconds: z.number().min(2).max(3600).default(10),
    maxJobs: positiveInt.max(256).default(2),
    leaseSeconds: z.number().min(1).max(86_400).default(60),
    /** Jobs a process claims ahead of its free slots, as a multiple of its slots. */
    prefetchFactor: z.number().int().min(1).max(16).default(4),
    paths: z
      .object({
        readRoots: z.array(z.string()).default([]),
        writeRoots: z.array(z.string()).default([]),
      })
      .strict()
      .default({ readRoots: [], writeRoots: [] }),
    downloads: z
      .object({
        dir: z.string().optional(),
        baseUrl: z.string().optional(),
        ttlHours: z.number().positive().default(72),
      })
      .strict()
      .default({ ttlHours: 72 }),
    commands: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "command names use letters, digits, _ . -"), commandTemplateSchema).default({}),
    allowArbitraryCommands: z.boolean().default(false),
    types: z.record(z.string(), typeOptionsSchema).default({}),
    retention: z
      .object({ completeDays: z.number().min(0).optional(), failedDays: z.number().min(0).optional() })
      .strict()
      .default({}),
    handlers: z.array(z.string()).default([]),
    logMaxBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
    // Sections read by the handlers and services that own them; each validates its own.
    previews: z.record(z.string(), z.unknown()).optional(),
    extractText: z.record(z.string(), z.unknown()).optional(),
    notify: z.record(z.string(), z.unknown()).optional(),
    metrics: z.record(z.string(), z.unknown()).optional(),
    maintenance: z.union([z.boolean(), z.string()]).optional(),
  })
  // Strict, so that a misspelt key ("maxjobs") is reported instead of silently ignored.
  .strict();

export type Config = z.infer<typeof configSchema> & { configPath?: string };
export type TypeOptions = z.infer<typeof typeOptionsSchema>;
export type CommandTemplate = z.infer<typeof commandTemplateSchema>;
