import type { Config } from "../config/schema.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import { PermanentDeliveryError } from "../errors.js";
import { EmailSender } from "./email.js";
import type { JobNotice } from "./job-notice.js";
import { postWebhook, webhookHost } from "./webhook.js";

/** Deliveries under way at once per channel: a batch of 500 outcomes must not open 500 connections. */
const CONCURRENCY = 4;

interface Channel {
  name: string;
  /** false: nothing to deliver for this notice (e.g. no address for its user); a string: why not, worth a warning. */
  send(notice: JobNotice, signal: AbortSignal): Promise<boolean | string>;
  close(): Promise<void>;
}

/**
 * Delivers the notices of finished jobs (webhook, e-mail) in the background: notify() returns at
 * once, so a delivery never delays a job, its outcome or the next claim. Each delivery is tried
 * `attempts` times with a doubling delay; a failure is a warning in the process log and nothing
 * more. settle(), at the end of a run, waits a bounded time for what is still under way.
 */
export class Notifier {
  private readonly pending = new Map<Promise<void>, string>();
  private readonly abandon = new AbortController();
  private readonly queues: Map<Channel, Array<() => void>>;
  private readonly active = new Map<Channel, number>();
  private settled = false;

  private constructor(
    private readonly channels: Channel[],
    private readonly settings: Config["notify"],
    private readonly logger: Logger,
  ) {
    this.queues = new Map(channels.map((c) => [c, []]));
  }

  /** A notifier for the configured channels, or undefined when none is configured. */
  static fromConfig(config: Config, logger: Logger): Notifier | undefined {
    const { webhook, email } = config.notify;
    const channels: Channel[] = [];
    if (webhook) {
      channels.push({
        name: `webhook to ${webhookHost(webhook)}`,
        send: async (notice, signal) => {
          await postWebhook(webhook, notice, signal);
          return true;
        },
        close: async () => undefined,
      });
    }
    if (email) {
      const sender = new EmailSender(email);
      channels.push({ name: "e-mail", send: (notice, signal) => sender.send(notice, signal), close: () => sender.close() });
    }
    return channels.length ? new Notifier(channels, config.notify, logger) : undefined;
  }

  /** Starts delivering these notices; returns at once. */
  notify(notices: JobNotice[]): void {
    for (const notice of notices) {
      if (this.settled) {
        this.logger.warn(`job ${notice.ref}: its notice was not delivered, because notifications were already closed for this run`, { ref: notice.ref });
        continue;
      }
      for (const channel of this.channels) {
        const delivery: Promise<void> = this.deliver(channel, notice).finally(() => this.pending.delete(delivery));
        this.pending.set(delivery, `job ${notice.ref} (${channel.name})`);
      }
    }
  }

  /**
   * Waits for the deliveries under way, at most exitWaitSeconds, so that a cron run does not
   * drop them; then abandons the rest with a warning and closes connections. Never throws.
   */
  async settle(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    const waitMs = this.settings.exitWaitSeconds * 1000;
    if (this.pending.size > 0) {
      this.logger.debug(`waiting up to ${this.settings.exitWaitSeconds} s for ${this.pending.size} notification delivery(ies)`);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.allSettled([...this.pending.keys()]).then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), waitMs))),
      ]);
      clearTimeout(timer);
      if (timedOut && this.pending.size > 0) {
        this.logger.warn(
          `abandoned ${this.pending.size} notification delivery(ies) still under way after ${this.settings.exitWaitSeconds} s: ${[...this.pending.values()].join(", ")}`,
        );
      }
    }
    // Stops retry waits and requests still in flight, so that nothing keeps the process alive.
    this.abandon.abort();
    await Promise.all(this.channels.map((c) => c.close().catch(() => undefined)));
  }

  private async deliver(channel: Channel, notice: JobNotice): Promise<void> {
    const signal = this.abandon.signal;
    await this.slot(channel);
    try {
      for (let attempt = 1; ; attempt++) {
        if (signal.aborted) return;
        try {
          const sent = await channel.send(notice, signal);
          if (typeof sent === "string") return this.logger.warn(`job ${notice.ref}: ${channel.name} not sent: ${sent}`, { ref: notice.ref });
          this.logger.debug(`job ${notice.ref}: ${sent ? "notice delivered" : "no notice to deliver"} by ${channel.name}`, { ref: notice.ref });
          return;
        } catch (error) {
          if (signal.aborted) return; // abandoned: settle() has said so
          const permanent = error instanceof PermanentDeliveryError;
          if (permanent || attempt >= this.settings.attempts) {
            const tries = permanent ? "" : ` after ${attempt} attempt(s)`;
            this.logger.warn(`job ${notice.ref}: ${channel.name} notification failed${tries}: ${errorMessage(error)}`, { ref: notice.ref });
            return;
          }
          const delaySeconds = this.settings.retryDelaySeconds * 2 ** (attempt - 1);
          this.logger.debug(`job ${notice.ref}: ${channel.name} notification failed (${errorMessage(error)}); trying again in ${delaySeconds} s`, {
            ref: notice.ref,
          });
          await abortableSleep(delaySeconds * 1000, signal);
        }
      }
    } finally {
      this.release(channel);
    }
  }

  /** Waits for one of the channel's CONCURRENCY places. */
  private slot(channel: Channel): Promise<void> {
    const active = this.active.get(channel) ?? 0;
    if (active < CONCURRENCY) {
      this.active.set(channel, active + 1);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queues.get(channel)!.push(resolve));
  }

  private release(channel: Channel): void {
    const next = this.queues.get(channel)!.shift();
    if (next)
      next(); // the place passes straight to the next delivery
    else this.active.set(channel, (this.active.get(channel) ?? 1) - 1);
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
