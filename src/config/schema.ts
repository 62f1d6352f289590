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
    concurrency: positiveInt.optional().describe("at most this many running jobs of the type, across all hosts"),
    timeoutSeconds: z
      .number()
      .positive()
      .max(7 * 24 * 3600)
      .optional()
      .describe(
        "one attempt's time limit; unset: the handler's (noop 900, command 600), else 3600. A command template's own `timeoutSeconds` governs its jobs; this bounds `argv` jobs",
      ),
    maxAttempts: z.number().int().min(1).max(100).optional().describe("attempts when the row's `max_attempts` is NULL; unset: the handler's, else 3"),
    backoff: z
      .object({
        initialSeconds: z
          .number()
          .min(0)
          .max(86_400)
          .default(10)
          .describe("delay before the first retry; the delay is `initialSeconds · 2^(attempt−1)`, ±20 % jitter"),
        maxSeconds: z
          .number()
          .min(0)
          .max(7 * 86_400)
          .default(3600)
          .describe("cap of the retry delay"),
      })
      .strict()
      .optional(),
    onLost: z.enum(["retry", "fail"]).optional().describe("a job whose worker vanished (its lease expired): `retry` (unset) or `fail`"),
    hidden: z
      .boolean()
      .optional()
      .describe("`true`: left out of `types` (unless named) and of `doctor`'s tool checks; jobs of the type are still claimed and run. Unset: false"),
    /** false: this host never claims jobs of the type; they wait for a host that runs it. */
    enabled: z
      .boolean()
      .optional()
      .describe(
        "`false`: this host never claims the type (cron runs, `run --job`, `work`); its rows stay pending for hosts that run it. `doctor` and `types` say so. Unset: true",
      ),
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
    argv: z
      .array(z.string())
      .min(1, "needs at least the program name")
      .describe(
        "the command for the `command`, `create_alternative_file` and `create_download_file` types: program and arguments, no shell, with `{placeholders}`",
      ),
    timeoutSeconds: z
      .number()
      .positive()
      .max(7 * 24 * 3600)
      .default(600)
      .describe("its process group is killed after this (SIGTERM, then SIGKILL 3 s later), and the job is retried"),
    cwd: z.string().optional().describe("working directory; unset: the runner's"),
    /** Exit codes that mean "try again later" (everything else non-zero fails the job at once). */
    transientExitCodes: z.array(z.number().int()).default([]).describe('exit codes that mean "retry later"; any other non-zero exit fails the job at once'),
    /**
     * What each placeholder takes (SECURITY.md, "Subprocesses"): "read" / "write", a path that
     * must lie under paths.readRoots / writeRoots (resolved, symlinks too, before the command
     * runs), or text that must match a pattern (the whole value).
     */
    args: z
      .record(placeholderName, placeholderDeclaration)
      .optional()
      .describe(
        'what each placeholder takes: `"read"` / `"write"`, a path under `paths.readRoots` / `paths.writeRoots` (symlinks resolved), or `{ "pattern": regex, "maxLength"?: n }`, text the pattern matches whole; see [Command templates](handlers.md#command-templates)',
      ),
    /** The older spelling of args' "read" / "write"; still read. */
    pathArgs: z
      .record(z.string(), z.enum(["read", "write"]))
      .optional()
      .describe('the older spelling of `args`\' `"read"` / `"write"`; still read'),
    /** The job types that may run this template; see templateUsers() for the default. */
    usableBy: z
      .array(z.enum(TEMPLATE_USERS))
      .min(1)
      .optional()
      .describe(
        "the types that may run the template. Unset: a template that uses `{source}` or `{output}` undeclared is only for the types that fill them; any other is for all three",
      ),
    /** Variables of the runner's environment the command also gets (it has only PATH, HOME, LANG, LC_ALL, TZ and TMPDIR otherwise). */
    env: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a variable name"))
      .max(64)
      .default([])
      .describe("variables of the runner's environment it also gets (it has only `PATH`, `HOME`, `LANG`, `LC_ALL`, `TZ`, `TMPDIR` otherwise)"),
  })
  .strict()
  .superRefine((template, context) => {
    const problem = declarationProblem(template);
    if (problem) context.addIssue({ code: "custom", message: problem, path: ["args"] });
  });

const sizeName = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "size names use letters, digits, _ and -");
const dimension = z.number().int().min(1).max(16_384);

/** create_previews and create_alternative_file (docs/handlers.md, "create_previews"). */
export const previewsSchema = z
  .object({
    sizes: z
      .record(sizeName, z.object({ width: dimension, height: dimension }).strict())
      .default({ thm: { width: 150, height: 150 }, pre: { width: 850, height: 850 }, scr: { width: 1400, height: 1400 } })
      .describe("preview boxes by name: each image fits inside, never enlarged"),
    format: z.enum(["jpeg", "png", "webp", "avif"]).default("jpeg").describe("preview image format"),
    quality: z.number().int().min(1).max(100).default(85).describe("preview image quality"),
    /** Transparency is flattened onto this colour for formats without alpha. */
    background: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, "must be a colour like #ffffff")
      .default("#ffffff")
      .describe("colour transparency is flattened onto for JPEG"),
    /** Decompression-bomb guard, in megapixels (width × height / 1e6). */
    maxMegapixels: z
      .number()
      .positive()
      .max(10_000)
      .default(268)
      .describe("larger images are refused from their header, before decoding (decompression bombs)"),
    /** Output file names: {base} (source name without extension), {size}, {ext}, {ref}. */
    namePattern: z
      .string()
      .min(1)
      .default("{base}_{size}.{ext}")
      .describe("output file names: `{base}` (the source's name without extension), `{size}`, `{ext}`, `{ref}`"),
    /** Where previews go when job_data gives no outputDir (default: beside the source). */
    outputDir: z.string().optional().describe("where previews go when job_data gives no `outputDir`; unset: beside the source"),
    video: z
      .object({
        posterOffsetPercent: z.number().min(0).max(100).default(10).describe("a video's poster frame is taken at this percentage of its duration"),
        posterMaxOffsetSeconds: z.number().min(0).default(30).describe("and at most this many seconds in"),
        clipSeconds: z.number().positive().max(3600).default(10).describe("the preview clip (H.264/AAC MP4) is at most this long"),
        clipMaxWidth: dimension.default(640).describe("and at most this wide, in pixels"),
        clipCrf: z.number().int().min(0).max(51).default(28).describe("the clip's H.264 quality (CRF: lower is better and larger)"),
        audioBitrate: z
          .string()
          .regex(/^\d+k$/, "like 96k")
          .default("96k")
          .describe("the clip's AAC bitrate"),
      })
      .strict()
      .default({ posterOffsetPercent: 10, posterMaxOffsetSeconds: 30, clipSeconds: 10, clipMaxWidth: 640, clipCrf: 28, audioBitrate: "96k" }),
    audio: z
      .object({
        bitrate: z
          .string()
          .regex(/^\d+k$/, "like 128k")
          .default("128k")
          .describe("an audio preview's MP3 bitrate"),
        seconds: z.number().positive().max(3600).default(30).describe("an audio preview covers at most the first this many seconds"),
        waveform: z.boolean().default(true).describe("also draw a waveform image"),
        waveformWidth: dimension.default(1200).describe("the waveform image's width, in pixels"),
        waveformHeight: dimension.default(200).describe("the waveform image's height, in pixels"),
        /** The waveform shows at most this much of the start: ffmpeg holds all of it in memory to draw it. */
        waveformMaxSeconds: z
          .number()
          .positive()
          .max(86_400)
          .default(3600)
          .describe("the waveform shows at most this much of the start: ffmpeg holds all of it in memory to draw it"),
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
    args: z.array(z.string()).max(200).describe("ffmpeg output options (the config is trusted; a row can only name the preset)"),
    format: z
      .string()
      .regex(/^[a-z0-9_]+$/, "an ffmpeg muxer name such as mp4, webm, ogg, mp3")
      .describe("the muxer: mp4, webm, ogg, mp3…"),
    /** The track the source must have. */
    needs: z.enum(["video", "audio"]).default("video").describe("the track the source must have"),
  })
  .strict();

/** extract_text (docs/handlers.md, "extract_text"). */
export const extractTextSchema = z
  .object({
    maxChars: z.number().int().min(1).max(100_000_000).default(1_000_000).describe("cap of the extracted text, in characters"),
    /** How long a short excerpt in the result is. */
    excerptChars: z.number().int().min(0).max(10_000).default(200).describe("length of the excerpt in the result"),
    /** pdftotext reads at most this many pages (its -l). */
    maxPages: z.number().int().min(1).max(1_000_000).default(10_000).describe("pages pdftotext reads at most"),
    /** pdftotext fails the job when its text passes this: pages can share one content stream, so a small PDF can print without end. */
    maxOutputBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(16 * 1024 * 1024 * 1024)
      .default(64 * 1024 * 1024)
      .describe("pdftotext's text passing this many bytes fails the job (pages can share one content stream, so a small PDF can print without end)"),
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
          })
          .describe(
            "a statement with named parameters `:text`, `:resource`, `:field`, `:ref` that stores the extracted text in the application's table, run on the job table's database; unset: the text goes into the result",
          ),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Result notifications (docs/operations.md, "Notifications and metrics"): each final outcome's notice, to a webhook and/or by e-mail. */
const headerValue = z.string().regex(/^[^\r\n]*$/, "must be one line");
export const notifySchema = z
  .object({
    webhook: z
      .object({
        url: z
          .string()
          .regex(/^https?:\/\/[^\s]+$/i, "must be an http:// or https:// URL")
          .describe("POST each final outcome's notice here as JSON"),
        /** Sent with every POST, e.g. { "Authorization": "Bearer …" }. */
        headers: z
          .record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "must be an HTTP header name"), headerValue)
          .default({})
          .describe('sent with every POST, e.g. `{ "Authorization": "Bearer …" }`'),
        timeoutSeconds: z.number().positive().max(300).default(10).describe("no answer within this is tried again"),
      })
      .strict()
      .optional(),
    email: z
      .object({
        smtp: z
          .string()
          .regex(/^smtps?:\/\/[^\s]+$/i, "must be an smtp:// or smtps:// URL")
          .describe("SMTP URL: `smtp://` uses STARTTLS when the server offers it, `smtps://` is TLS from the start"),
        from: headerValue.min(3).describe("the sender"),
        /**
         * The recipient: `addresses[user]` if listed, else the user itself when it is an e-mail
         * address, else this template with {user} filled in. No address, no mail.
         */
        to: z
          .string()
          .includes("{user}", { message: "must contain {user}" })
          .optional()
          .describe(
            "address template with `{user}`: the address is `addresses[user]` if listed, else the user itself when it is an e-mail address, else this with `{user}` filled in",
          ),
        addresses: z.record(z.string(), z.string()).default({}).describe("user → address"),
        /**
         * Domains an address made from a row (the user itself, or `to` filled in) may have; the
         * domain written out in `to` counts too. Others get no mail (SECURITY.md, "Notifications").
         */
        allowedDomains: z
          .array(z.string().regex(/^[A-Za-z0-9.-]+$/, "must be a domain name, e.g. example.org"))
          .default([])
          .describe("domains an address made from a row's `user` may have (besides the one `to` spells out); others get no mail"),
        /** {ref}, {type}, {user}, {status}, {notice} (its first line). */
        subject: headerValue.min(1).default("{notice}").describe("subject template: `{ref}`, `{type}`, `{user}`, `{status}`, `{notice}` (its first line)"),
        timeoutSeconds: z
          .number()
          .positive()
          .max(300)
          .default(30)
          .describe("time limit of each step of talking to the SMTP server (connecting, greeting, each reply)"),
      })
      .strict()
      .optional(),
    /** Tries per delivery; between them a delay of retryDelaySeconds, doubled each time. */
    attempts: z.number().int().min(1).max(10).default(4).describe("tries per delivery"),
    retryDelaySeconds: z.number().min(0).max(600).default(1).describe("delay before the first retry of a delivery, doubling after each"),
    /** At the end of a run, how long deliveries still under way are waited for before they are abandoned. */
    exitWaitSeconds: z.number().min(0).max(600).default(10).describe("how long a run's end waits for deliveries under way before abandoning them"),
  })
  .strict();

/** Prometheus metrics (docs/operations.md, "Notifications and metrics"). */
export const metricsSchema = z
  .object({
    /** Rewritten after each run for node_exporter's textfile collector, which reads only *.prom files. */
    textfile: z
      .string()
      .regex(/\.prom$/, "must end in .prom (node_exporter's textfile collector reads only those)")
      .optional()
      .describe("a `*.prom` file rewritten after each run for node_exporter's textfile collector"),
  })
  .strict();

/** 20 GiB: more than any collection a person clicks together, far less than a file store. */
const DEFAULT_MAX_COLLECTION_BYTES = 20 * 1024 ** 3;

export const configSchema = z
  .object({
    database: z
      .object({
        url: z.string().optional().describe("`mysql://user:password@host:3306/database`; required, here or in `$OFFLINE_JOBS_DATABASE_URL`, which replaces it"),
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
    /** Jobs a process claims ahead of its free slots, as a multiple of its slots. */
    prefetchFactor: z.number().int().min(1).max(16).default(4).describe("with short jobs, claim up to this many times the free slots at once"),
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
