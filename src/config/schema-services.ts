import { z } from "zod";

/** The config's notification and metrics sections (schema.ts joins them). */

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
