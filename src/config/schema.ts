import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { commandTemplateSchema, typeOptionsSchema } from "./schema-jobs.js";
import { extractTextSchema, ffmpegPresetSchema, previewsSchema } from "./schema-media.js";
import { metricsSchema, notifySchema } from "./schema-services.js";
import { webSchema } from "./schema-web.js";

export { commandTemplateSchema, extractTextSchema, ffmpegPresetSchema, metricsSchema, notifySchema, previewsSchema, typeOptionsSchema, webSchema };

/**
 * The config file's schema: every option, its default, and the one place they are
 * checked. config.example.json documents the same names; test/config/config-example.test.ts
 * keeps the two in step. Paths are resolved relative to the config file by load-config.ts, not here.
 */

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,40}$/, "must be a plain SQL identifier (letters, digits, _; at most 41 characters)");

const positiveInt = z.number().int().min(1);

/** 20 GiB: more than any collection a person clicks together, far less than a file store. */
const DEFAULT_MAX_COLLECTION_BYTES = 20 * 1024 ** 3;

export const configSchema = z
  .object({
    database: z
      .object({
        url: z
          .string()
          .optional()
          .describe("`mysql://user:password@host:3306/database`; required (or `urls`), here or in `$OFFLINE_JOBS_DATABASE_URL`, which replaces it"),
        urls: z
          .array(z.string())
          .max(16)
          .optional()
          .describe(
            "instead of `url`: the nodes of one cluster (Galera), tried in this order; a process moves to the next when its node is lost, stops answering or is not Synced ([operations.md](operations.md#running-on-a-cluster)); empty: `url` alone",
          ),
        table: identifier
          .default("job_queue")
          .describe("the job table (a plain SQL identifier); `init` creates it and its companions `<table>_migrations`, `<table>_type_slots`, `<table>_state`"),
        poolSize: positiveInt
          .max(64)
          .default(4)
          .describe(
            "connections per process, besides the claim's own two (so at most poolSize + 2 per process; size `max_connections` for the runs and workers of all hosts)",
          ),
      })
      .strict()
      .default({ table: "job_queue", poolSize: 4 })
      .describe("the job table's database"),
    hostName: z
      .string()
      .min(1)
      .max(100)
      .default(os.hostname())
      .meta({ description: "recorded in `locked_by` as host:pid", defaultText: "the machine's host name" }),
    lockDir: z.string().default(path.join(os.tmpdir(), "offline-jobs")).meta({
      description:
        "slot and job lock files; the same for every process on the host (and one PID namespace: holders are judged by pid). Set it: systemd's `PrivateTmp=` and per-user temp folders on Windows make the default private",
      defaultText: "`<OS temp dir>/offline-jobs`",
    }),
    /** A lock whose holder stopped refreshing it this long ago is taken over. */
    lockStaleSeconds: z
      .number()
      .min(2)
      .max(3600)
      .default(10)
      .describe("a lock not refreshed this long is taken over; a job lock whose recorded holder is dead is taken over at once"),
    maxJobs: positiveInt.max(256).default(2).describe("default of `--max-jobs`: jobs at once on this host, counting every offline-jobs process there"),
    leaseSeconds: z
      .number()
      .min(1)
      .max(86_400)
      .default(60)
      .describe(
        "a claim's lease, renewed every third of it; after it expires the job is recovered. Hosts sharing a table should keep it within a factor of 10 of each other: a lease further ahead than 10 × this host's is taken for a hand-written one and recovered",
      ),
    /** The most a process holds claimed ahead of its slots, as a multiple of them (claim-plan.ts). */
    prefetchFactor: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(32)
      .describe(
        "the most a run holds claimed ahead of its slots, as a multiple of them; within it, a run claims what its slots finish in 50 ms by the durations it has measured, and only for its free slots until it knows them",
      ),
    paths: z
      .object({
        readRoots: z.array(z.string()).default([]).describe("folders source paths in job_data must be under (symlinks resolved)"),
        writeRoots: z.array(z.string()).default([]).describe("folders output paths must be under"),
      })
      .strict()
      .default({ readRoots: [], writeRoots: [] })
      .describe('the only folders job rows may name ([SECURITY.md](../SECURITY.md), "Paths")'),
    downloads: z
      .object({
        dir: z.string().optional().describe("where download files are written"),
        baseUrl: z.string().optional().describe("the URL the files in `downloads.dir` are served under"),
        ttlHours: z.number().positive().default(72).describe("a run removes download files older than this (only files named by offline-jobs)"),
        /** collection_download refuses a collection whose files add up to more (a row could name the whole file store). */
        maxCollectionBytes: z
          .number()
          .int()
          .positive()
          .default(DEFAULT_MAX_COLLECTION_BYTES)
          .describe("a `collection_download` whose files add up to more fails (checked before writing, and again while streaming); the default is 20 GiB"),
      })
      .strict()
      .default({ ttlHours: 72, maxCollectionBytes: DEFAULT_MAX_COLLECTION_BYTES })
      .describe("`create_download_file` and `collection_download`"),
    commands: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "command names use letters, digits, _ . -"), commandTemplateSchema)
      .default({})
      .describe(
        "command templates ([handlers.md](handlers.md#command-templates)): a row names a template and fills its declared placeholders, never a program",
      ),
    allowArbitraryCommands: z.boolean().default(false).describe("let `command` jobs give their own `argv`"),
    types: z.record(z.string(), typeOptionsSchema).default({}).describe("per job type, built-in or from `handlers`"),
    retention: z
      .object({
        completeDays: z.number().min(0).optional().describe("days to keep complete jobs after they finished"),
        failedDays: z.number().min(0).optional().describe("days to keep failed and cancelled jobs after they finished"),
      })
      .strict()
      .default({})
      .describe(
        "each run deletes finished jobs older than these, at most once a minute across all hosts and 10 000 jobs each time; unset keeps them. Failures of this housekeeping are logged and never stop the run",
      ),
    handlers: z
      .array(z.string())
      .default([])
      .describe("modules (relative, absolute or package names) exporting handlers made with `defineHandler()` (default export: one or an array)"),
    logMaxBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(64 * 1024)
      .describe(
        "cap of a job's `log` column, in characters (oldest text dropped); a run keeps it at most a sixteenth of the server's `max_allowed_packet` and 4 Mi ([SECURITY.md](../SECURITY.md), \"Outcome size\")",
      ),
    /** Limits every subprocess (ffmpeg, poppler, command templates) starts under, through prlimit; 0: none (SECURITY.md, "Subprocesses"). */
    subprocesses: z
      .object({
        /** Heap and private writable memory (RLIMIT_DATA), MiB. */
        memoryMiB: z.number().int().min(0).max(1_048_576).default(2048).describe("memory: heap and private writable memory (`RLIMIT_DATA`), MiB"),
        /** The largest file it may write (RLIMIT_FSIZE), MiB. */
        fileMiB: z.number().int().min(0).max(16_777_216).default(16_384).describe("the largest file it may write (`RLIMIT_FSIZE`), MiB"),
      })
      .strict()
      .default({ memoryMiB: 2048, fileMiB: 16_384 })
      .describe(
        'limits every subprocess (ffmpeg, poppler, command templates) starts under, through `prlimit`; 0: none. Passing one fails the job permanently, naming the setting ([SECURITY.md](../SECURITY.md), "Subprocesses")',
      ),
    // Sections read by the handlers and services that own them; each validates its own.
    previews: previewsSchema
      .default(() => previewsSchema.parse({}))
      .describe("`create_previews`, and `create_alternative_file`'s image transforms ([handlers.md](handlers.md#create_previews))"),
    ffmpegPresets: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "preset names use letters, digits, _ . -"), ffmpegPresetSchema)
      .default({})
      .describe("named video and audio transcodes for `create_alternative_file` ([handlers.md](handlers.md#create_alternative_file))"),
    extractText: extractTextSchema.default(() => extractTextSchema.parse({})).describe("`extract_text` ([handlers.md](handlers.md#extract_text))"),
    notify: notifySchema
      .default(() => notifySchema.parse({}))
      .describe("each final outcome's notice, to a webhook and/or by e-mail ([operations.md](operations.md#notifications-and-metrics))"),
    metrics: metricsSchema.default({}).describe("Prometheus metrics ([operations.md](operations.md#notifications-and-metrics))"),
    web: webSchema.default(() => webSchema.parse({})).describe("the jobs page, `offline-jobs web` ([jobs-page.md](jobs-page.md))"),
    /**
     * true: `run` and `work` refuse to claim (upgrades); a path: they refuse while that flag
     * file exists. Only an absolute path: a word such as "upgrading" reads like a message, and
     * taken as a file name it would quietly leave maintenance off.
     */
    maintenance: z
      .union([
        z.boolean(),
        z
          .string()
          .refine(
            (value) => path.isAbsolute(value) || path.win32.isAbsolute(value),
            'a string here is the absolute path of a flag file (maintenance is on while it exists), e.g. "/var/lib/offline-jobs/MAINTENANCE"; use true to turn maintenance on now',
          ),
      ])
      .default(false)
      .describe(
        "`true`, or the absolute path of a flag file: while set (or while the file exists) `run` and `work` claim nothing ([operations.md](operations.md#maintenance-mode)); any other string is a config error",
      ),
  })
  // Strict, so that a misspelt key ("maxjobs") is reported instead of silently ignored.
  .strict();

export type Config = z.infer<typeof configSchema> & { configPath?: string };
export type TypeOptions = z.infer<typeof typeOptionsSchema>;
export type CommandTemplate = z.infer<typeof commandTemplateSchema>;
export type PreviewsConfig = z.infer<typeof previewsSchema>;
export type { WebConfig } from "./schema-web.js";
