import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { declarationProblem, TEMPLATE_USERS } from "./template-declarations.js";

/**
 * The config file's schema: every option, its default, and the one place they are
 * checked. config.example.json documents the same names; test/config/config-example.test.ts
 * keeps the two in step. Paths are resolved relative to the config file by load-config.ts, not here.
 */

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,40}$/, "must be a plain SQL identifier (letters, digits, _; at most 41 characters)");

const positiveInt = z.number().int().min(1);

export const typeOptionsSchema = z
  .object({
    concurrency: positiveInt.optional(),
    timeoutSeconds: z
      .number()
      .positive()
      .max(7 * 24 * 3600)
      .optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    backoff: z
      .object({
        initialSeconds: z.number().min(0).max(86_400).default(10),
        maxSeconds: z
          .number()
          .min(0)
          .max(7 * 86_400)
          .default(3600),
      })
      .strict()
      .optional(),
    onLost: z.enum(["retry", "fail"]).optional(),
    hidden: z.boolean().optional(),
    /** false: this host never claims jobs of the type; they wait for a host that runs it. */
    enabled: z.boolean().optional(),
  })
  .strict();

const placeholderName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "placeholder names use letters, digits and _");
const placeholderDeclaration = z.union([
  z.enum(["read", "write"]),
  z
    .object({
      pattern: z.string().refine(compiles, "must be a JavaScript regular expression (u flag)"),
      maxLength: z.number().int().min(1).max(65_536).optional(),
    })
    .strict(),
]);

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, "u");
    return true;
  } catch {
    return false;
  }
}

export const commandTemplateSchema = z
  .object({
    argv: z.array(z.string()).min(1, "needs at least the program name"),
    timeoutSeconds: z
      .number()
      .positive()
      .max(7 * 24 * 3600)
      .default(600),
    cwd: z.string().optional(),
    /** Exit codes that mean "try again later" (everything else non-zero fails the job at once). */
    transientExitCodes: z.array(z.number().int()).default([]),
    /**
     * What each placeholder takes (SECURITY.md, "Subprocesses"): "read" / "write", a path that
     * must lie under paths.readRoots / writeRoots (resolved, symlinks too, before the command
     * runs), or text that must match a pattern (the whole value).
     */
    args: z.record(placeholderName, placeholderDeclaration).optional(),
    /** The older spelling of args' "read" / "write"; still read. */
    pathArgs: z.record(z.string(), z.enum(["read", "write"])).optional(),
    /** The job types that may run this template; see templateUsers() for the default. */
    usableBy: z.array(z.enum(TEMPLATE_USERS)).min(1).optional(),
    /** Variables of the runner's environment the command also gets (it has only PATH, HOME, LANG, LC_ALL, TZ and TMPDIR otherwise). */
    env: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a variable name"))
      .max(64)
      .default([]),
  })
  .strict()
  .superRefine((template, context) => {
    const problem = declarationProblem(template);
    if (problem) context.addIssue({ code: "custom", message: problem, path: ["args"] });
  });

const sizeName = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "size names use letters, digits, _ and -");
const dimension = z.number().int().min(1).max(16_384);

/** create_previews and create_alternative_file (DESIGN §6, issue 3). */
export const previewsSchema = z
  .object({
    sizes: z
      .record(sizeName, z.object({ width: dimension, height: dimension }).strict())
      .default({ thm: { width: 150, height: 150 }, pre: { width: 850, height: 850 }, scr: { width: 1400, height: 1400 } }),
    format: z.enum(["jpeg", "png", "webp", "avif"]).default("jpeg"),
    quality: z.number().int().min(1).max(100).default(85),
    /** Transparency is flattened onto this colour for formats without alpha. */
    background: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, "must be a colour like #ffffff")
      .default("#ffffff"),
    /** Decompression-bomb guard, in megapixels (width × height / 1e6). */
    maxMegapixels: z.number().positive().max(10_000).default(268),
    /** Output file names: {base} (source name without extension), {size}, {ext}, {ref}. */
    namePattern: z.string().min(1).default("{base}_{size}.{ext}"),
    /** Where previews go when job_data gives no outputDir (default: beside the source). */
    outputDir: z.string().optional(),
    video: z
      .object({
        posterOffsetPercent: z.number().min(0).max(100).default(10),
        posterMaxOffsetSeconds: z.number().min(0).default(30),
        clipSeconds: z.number().positive().max(3600).default(10),
        clipMaxWidth: dimension.default(640),
        clipCrf: z.number().int().min(0).max(51).default(28),
        audioBitrate: z
          .string()
          .regex(/^\d+k$/, "like 96k")
          .default("96k"),
      })
      .strict()
      .default({ posterOffsetPercent: 10, posterMaxOffsetSeconds: 30, clipSeconds: 10, clipMaxWidth: 640, clipCrf: 28, audioBitrate: "96k" }),
    audio: z
      .object({
        bitrate: z
          .string()
          .regex(/^\d+k$/, "like 128k")
          .default("128k"),
        seconds: z.number().positive().max(3600).default(30),
        waveform: z.boolean().default(true),
        waveformWidth: dimension.default(1200),
        waveformHeight: dimension.default(200),
        /** The waveform shows at most this much of the start: ffmpeg holds all of it in memory to draw it. */
        waveformMaxSeconds: z.number().positive().max(86_400).default(3600),
      })
      .strict()
      .default({ bitrate: "128k", seconds: 30, waveform: true, waveformWidth: 1200, waveformHeight: 200, waveformMaxSeconds: 3600 }),
  })
  .strict();

/**
 * Named ffmpeg output presets for create_alternative_file's video and audio transcodes: the
 * output options (the config is trusted; job rows only name a preset) and the muxer.
 */
export const ffmpegPresetSchema = z
  .object({
    args: z.array(z.string()).max(200),
    format: z.string().regex(/^[a-z0-9_]+$/, "an ffmpeg muxer name such as mp4, webm, ogg, mp3"),
    /** The track the source must have. */
    needs: z.enum(["video", "audio"]).default("video"),
  })
  .strict();

/** extract_text (DESIGN §6, issue 4). */
export const extractTextSchema = z
  .object({
    maxChars: z.number().int().min(1).max(100_000_000).default(1_000_000),
    /** How long a short excerpt in the result is. */
    excerptChars: z.number().int().min(0).max(10_000).default(200),
    /** pdftotext reads at most this many pages (its -l). */
    maxPages: z.number().int().min(1).max(1_000_000).default(10_000),
    /** pdftotext fails the job when its text passes this: pages can share one content stream, so a small PDF can print without end. */
    maxOutputBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(16 * 1024 * 1024 * 1024)
      .default(64 * 1024 * 1024),
    sink: z
      .object({
        /**
         * Where the text goes: one statement with named parameters :text, :resource, :field,
         * :ref, run with parameters on the job table's pool, e.g. an UPDATE of the
         * application's field table.
         */
        sql: z
          .string()
          .min(1)
          .refine((sql) => [...sql.matchAll(/:([A-Za-z_]\w*)/g)].every((m) => ["text", "resource", "field", "ref"].includes(m[1]!)), {
            message: "may use only the named parameters :text, :resource, :field and :ref",
          }),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Result notifications (issue 5): each final outcome's notice, to a webhook and/or by e-mail. */
const headerValue = z.string().regex(/^[^\r\n]*$/, "must be one line");
export const notifySchema = z
  .object({
    webhook: z
      .object({
        url: z.string().regex(/^https?:\/\/[^\s]+$/i, "must be an http:// or https:// URL"),
        /** Sent with every POST, e.g. { "Authorization": "Bearer …" }. */
        headers: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "must be an HTTP header name"), headerValue).default({}),
        timeoutSeconds: z.number().positive().max(300).default(10),
      })
      .strict()
      .optional(),
    email: z
      .object({
        smtp: z.string().regex(/^smtps?:\/\/[^\s]+$/i, "must be an smtp:// or smtps:// URL"),
        from: headerValue.min(3),
        /**
         * The recipient: `addresses[user]` if listed, else the user itself when it is an e-mail
         * address, else this template with {user} filled in. No address, no mail.
         */
        to: z.string().includes("{user}", { message: "must contain {user}" }).optional(),
        addresses: z.record(z.string(), z.string()).default({}),
        /**
         * Domains an address made from a row (the user itself, or `to` filled in) may have; the
         * domain written out in `to` counts too. Others get no mail (SECURITY.md, "Notifications").
         */
        allowedDomains: z.array(z.string().regex(/^[A-Za-z0-9.-]+$/, "must be a domain name, e.g. example.org")).default([]),
        /** {ref}, {type}, {user}, {status}, {notice} (its first line). */
        subject: headerValue.min(1).default("{notice}"),
        timeoutSeconds: z.number().positive().max(300).default(30),
      })
      .strict()
      .optional(),
    /** Tries per delivery; between them a delay of retryDelaySeconds, doubled each time. */
    attempts: z.number().int().min(1).max(10).default(4),
    retryDelaySeconds: z.number().min(0).max(600).default(1),
    /** At the end of a run, how long deliveries still under way are waited for before they are abandoned. */
    exitWaitSeconds: z.number().min(0).max(600).default(10),
  })
  .strict();

/** Prometheus metrics (issue 5). */
export const metricsSchema = z
  .object({
    /** Rewritten after each run for node_exporter's textfile collector, which reads only *.prom files. */
    textfile: z
      .string()
      .regex(/\.prom$/, "must end in .prom (node_exporter's textfile collector reads only those)")
      .optional(),
  })
  .strict();

/** 20 GiB: more than any collection a person clicks together, far less than a file store. */
const DEFAULT_MAX_COLLECTION_BYTES = 20 * 1024 ** 3;

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
        /** collection_download refuses a collection whose files add up to more (a row could name the whole file store). */
        maxCollectionBytes: z.number().int().positive().default(DEFAULT_MAX_COLLECTION_BYTES),
      })
      .strict()
      .default({ ttlHours: 72, maxCollectionBytes: DEFAULT_MAX_COLLECTION_BYTES }),
    commands: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "command names use letters, digits, _ . -"), commandTemplateSchema).default({}),
    allowArbitraryCommands: z.boolean().default(false),
    types: z.record(z.string(), typeOptionsSchema).default({}),
    retention: z
      .object({ completeDays: z.number().min(0).optional(), failedDays: z.number().min(0).optional() })
      .strict()
      .default({}),
    handlers: z.array(z.string()).default([]),
    logMaxBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(64 * 1024),
    /** Limits every subprocess (ffmpeg, poppler, command templates) starts under, through prlimit; 0: none (SECURITY.md, "Subprocesses"). */
    subprocesses: z
      .object({
        /** Heap and private writable memory (RLIMIT_DATA), MiB. */
        memoryMiB: z.number().int().min(0).max(1_048_576).default(2048),
        /** The largest file it may write (RLIMIT_FSIZE), MiB. */
        fileMiB: z.number().int().min(0).max(16_777_216).default(16_384),
      })
      .strict()
      .default({ memoryMiB: 2048, fileMiB: 16_384 }),
    // Sections read by the handlers and services that own them; each validates its own.
    previews: previewsSchema.default(() => previewsSchema.parse({})),
    ffmpegPresets: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "preset names use letters, digits, _ . -"), ffmpegPresetSchema).default({}),
    extractText: extractTextSchema.default(() => extractTextSchema.parse({})),
    notify: notifySchema.default(() => notifySchema.parse({})),
    metrics: metricsSchema.default({}),
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
      .default(false),
  })
  // Strict, so that a misspelt key ("maxjobs") is reported instead of silently ignored.
  .strict();

export type Config = z.infer<typeof configSchema> & { configPath?: string };
export type TypeOptions = z.infer<typeof typeOptionsSchema>;
export type CommandTemplate = z.infer<typeof commandTemplateSchema>;
export type PreviewsConfig = z.infer<typeof previewsSchema>;
