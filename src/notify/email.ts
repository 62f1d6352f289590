import type { Mail } from "nodemailer";
import type { Config } from "../config/schema.js";
import { PermanentDeliveryError } from "../errors.js";
import type { JobNotice } from "./job-notice.js";
import { resolveRecipient } from "./recipient.js";

type EmailConfig = NonNullable<Config["notify"]["email"]>;

const SUBJECT_MAX = 200;

/**
 * Mails notices through the configured SMTP server. The only module that loads nodemailer,
 * and only when the first mail is due, so that runs without e-mail never load it.
 */
export class EmailSender {
  private transport: Promise<Mail> | undefined;

  constructor(private readonly email: EmailConfig) {}

  /**
   * Sends the notice to its user's address: true once sent, false when the user has none, or
   * why no mail goes to the address the user resolves to (not an allowed one).
   */
  async send(notice: JobNotice, signal: AbortSignal): Promise<boolean | string> {
    const recipient = resolveRecipient(this.email, notice.user);
    if ("none" in recipient) return false;
    if ("refused" in recipient) return recipient.refused;
    const { to } = recipient;
    const transport = await (this.transport ??= this.open());
    try {
      await transport.sendMail({ from: this.email.from, to, subject: this.subject(notice), text: body(notice), signal });
    } catch (error) {
      // 5xx: the server refused for good (unknown mailbox, authentication, policy).
      const code = (error as { responseCode?: number }).responseCode;
      if (code !== undefined && code >= 500) throw new PermanentDeliveryError(errorText(error));
      throw new Error(errorText(error));
    }
    return true;
  }

  /** Closes the SMTP connections, so that the process can exit. */
  async close(): Promise<void> {
    const transport = this.transport;
    this.transport = undefined;
    if (transport) (await transport.catch(() => undefined))?.close();
  }

  private async open(): Promise<Mail> {
    const nodemailer = await import("nodemailer");
    const ms = this.email.timeoutSeconds * 1000;
    // One connection per message (no pool): nothing stays open between runs or after an abort.
    return nodemailer.createTransport({ url: this.email.smtp, connectionTimeout: ms, greetingTimeout: ms, socketTimeout: ms, dnsTimeout: ms });
  }

  private subject(notice: JobNotice): string {
    const firstLine =
      notice.notice
        .split("\n")
        .find((line) => line.trim() !== "")
        ?.trim() ?? "";
    const values: Record<string, string> = { ref: String(notice.ref), type: notice.type, user: notice.user ?? "", status: notice.status, notice: firstLine };
    const subject = this.email.subject.replace(/\{(ref|type|user|status|notice)\}/g, (_, key: string) => values[key]!).replace(/[\r\n]+/g, " ");
    return subject.length > SUBJECT_MAX ? `${subject.slice(0, SUBJECT_MAX - 1)}…` : subject;
  }
}

/** The notice, and the url on a line of its own when the notice does not already show it. */
function body(notice: JobNotice): string {
  return notice.url && !notice.notice.includes(notice.url) ? `${notice.notice}\n\n${notice.url}\n` : `${notice.notice}\n`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
