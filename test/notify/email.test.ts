import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { hostConfig, tail, useTestEnvironment } from "../helpers/environment.js";

/**
 * notify.email mails a finished job's notice (nodemailer) to the address resolved
 * from its user, received here by a small real SMTP server.
 */

const env = useTestEnvironment("oj-email-");

interface Mail {
  from: string;
  to: string[];
  data: string;
}

/**
 * A minimal SMTP sink: greeting, EHLO/HELO, MAIL, RCPT, DATA up to <CRLF>.<CRLF>, RSET, NOOP,
 * QUIT. It offers no extensions (so no STARTTLS). The first `refuse` connections are told 421.
 */
class SmtpSink {
  readonly mails: Mail[] = [];
  refuse = 0;
  connections = 0;
  private readonly server = net.createServer((socket) => this.session(socket));

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private session(socket: net.Socket): void {
    this.connections++;
    if (this.connections <= this.refuse) {
      socket.end("421 sink busy, try again later\r\n");
      return;
    }
    let buffer = "";
    let inData = false;
    let mail: Mail = { from: "", to: [], data: "" };
    const reply = (line: string) => socket.write(`${line}\r\n`);
    socket.setEncoding("utf8");
    socket.on("error", () => undefined);
    reply("220 sink.test ESMTP");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (;;) {
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end < 0) return;
          mail.data = buffer.slice(0, end).replace(/^\.\./gm, ".");
          buffer = buffer.slice(end + 5);
          inData = false;
          this.mails.push(mail);
          mail = { from: "", to: [], data: "" };
          reply("250 2.0.0 queued");
          continue;
        }
        const eol = buffer.indexOf("\r\n");
        if (eol < 0) return;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const address = /<(.*)>/.exec(line)?.[1] ?? "";
        switch (line.slice(0, 4).toUpperCase()) {
          case "EHLO":
          case "HELO":
            reply("250 sink.test");
            break;
          case "MAIL":
            mail.from = address;
            reply("250 2.1.0 ok");
            break;
          case "RCPT":
            mail.to.push(address);
            reply("250 2.1.5 ok");
            break;
          case "DATA":
            inData = true;
            reply("354 end with <CRLF>.<CRLF>");
            break;
          case "RSET":
            mail = { from: "", to: [], data: "" };
            reply("250 ok");
            break;
          case "NOOP":
            reply("250 ok");
            break;
          case "QUIT":
            reply("221 bye");
            socket.end();
            return;
          default:
            reply("502 5.5.2 not implemented");
        }
      }
    });
  }
}

function header(mail: Mail, name: string): string | undefined {
  const head = mail.data.split("\r\n\r\n")[0]!.replace(/\r\n[ \t]+/g, " ");
  return new RegExp(`^${name}: (.*)$`, "im").exec(head)?.[1];
}

function body(mail: Mail): string {
  return mail.data.slice(mail.data.indexOf("\r\n\r\n") + 4);
}

describe("e-mail notifications", () => {
  const sink = new SmtpSink();
  let smtp = "";
  before(async () => {
    smtp = `smtp://127.0.0.1:${await sink.listen()}`;
  });
  after(() => sink.close());

  const config = (name: string, email: Record<string, unknown> = {}) =>
    hostConfig(
      env,
      name,
      {
        notify: {
          email: { smtp, from: "Jobs <jobs@example.org>", to: "{user}@example.org", addresses: { admin: "webmaster@example.net" }, ...email },
          retryDelaySeconds: 0.2,
        },
      },
      name,
    );

  test("each finished job's notice is mailed to its user's resolved address; no address, no mail", { timeout: 60_000 }, async () => {
    sink.mails.length = 0;
    const complete = await env.db.insertJob("noop", {}, { user: "alice", success_text: "Hello {user}, job {ref} ({type}) is done." });
    const failed = await env.db.insertJob("noop", { fail: "permanent" }, { user: "admin", failure_text: "Job {ref} failed: {error}" });
    const direct = await env.db.insertJob("noop", {}, { user: "carol@example.com" });
    await env.db.insertJob("noop", {}, {}); // no user: nobody to mail
    await env.db.insertJob("noop", {}, { user: "bad user, eve@evil.example" }); // resolves to no single address

    const result = await runCli(["run"], { config: config("mailer", { allowedDomains: ["example.com"] }) });
    assert.equal(result.code, 0, `the run should exit 0; stderr:\n${tail(result.stderr)}`);

    const byRecipient = new Map(sink.mails.map((m) => [m.to.join(","), m]));
    assert.deepEqual(
      [...byRecipient.keys()].sort(),
      ["alice@example.org", "carol@example.com", "webmaster@example.net"],
      "one mail per resolvable user, to that address only",
    );

    const alice = byRecipient.get("alice@example.org")!;
    assert.equal(alice.from, "jobs@example.org", "the envelope sender is notify.email.from");
    assert.equal(header(alice, "Subject"), `Hello alice, job ${complete} (noop) is done.`, "the subject is the notice by default");
    assert.match(header(alice, "From") ?? "", /Jobs <jobs@example\.org>/);
    assert.equal(body(alice).trim(), `Hello alice, job ${complete} (noop) is done.`);

    const admin = byRecipient.get("webmaster@example.net")!;
    assert.equal(body(admin).trim(), `Job ${failed} failed: noop was asked to fail permanently`, "a failure mails the failure notice");
    assert.match(
      body(byRecipient.get("carol@example.com")!),
      new RegExp(`Job ${direct} \\(noop\\) is complete\\.`),
      "without success_text the default notice is mailed",
    );
  });

  test("a row cannot make the site mail an address outside the configured map and domains, nor mail its own link", { timeout: 60_000 }, async () => {
    await env.db.query("DELETE FROM job_queue");
    sink.mails.length = 0;
    const phishing =
      'URGENT: your account is locked.\u001b[2J\u0007 Log in at https://evil.example/login or www.evil.example <a href="https://evil.example">here</a>\u202e';
    const victim = await env.db.insertJob("noop", {}, { user: "victim@example.com", success_text: phishing });
    const bob = await env.db.insertJob("noop", {}, { user: "bob", success_text: `${phishing} ${"padding ".repeat(300)}END` });

    const result = await runCli(["run"], { config: config("relay") });
    assert.equal(result.code, 0, `the run should exit 0; stderr:\n${tail(result.stderr)}`);
    assert.deepEqual(
      sink.mails.map((m) => m.to.join(",")),
      ["bob@example.org"],
      "only the address in the domain `to` spells out gets mail",
    );
    const messages = result.stderr.split("\n").flatMap((line) => {
      try {
        return [String(JSON.parse(line).msg)];
      } catch {
        return [];
      }
    });
    assert.ok(
      messages.includes(
        `job ${victim}: e-mail not sent: user "victim@example.com" resolves to an address at "example.com", which is neither in notify.email.addresses nor in notify.email.allowedDomains; no mail sent`,
      ),
      `one line must say why the victim got nothing:\n${tail(result.stderr)}`,
    );

    const text = body(sink.mails[0]!).replace(/=\r\n/g, "");
    assert.doesNotMatch(text, /evil\.example/, "no link from the row reaches the mail");
    assert.match(text, /Log in at \[link removed\] or \[link removed\] here/, "links and tags from the row are removed, the words kept");
    assert.doesNotMatch(text, /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e]|=1B|=07/, "no control or bidi character from the row");
    assert.doesNotMatch(text, /END/, "the row's text is cut at 500 characters");
    const [row] = await env.db.query<{ result: string }>("SELECT result FROM job_queue WHERE ref = ?", [bob]);
    assert.ok(JSON.parse(row!.result).notice.length <= 500, "the stored notice is bounded too");
  });

  test("a server that refuses the first two connections gets the mail on the third try", { timeout: 60_000 }, async () => {
    await env.db.query("DELETE FROM job_queue");
    sink.mails.length = 0;
    sink.connections = 0;
    sink.refuse = 2;
    const ref = await env.db.insertJob("noop", {}, { user: "dave" });

    const result = await runCli(["run"], { config: config("busy-mailer", { subject: "[{status}] job {ref} of {user}" }) });
    sink.refuse = 0;
    assert.equal(result.code, 0, `the run should exit 0; stderr:\n${tail(result.stderr)}`);
    assert.equal(sink.connections, 3, "two refused connections, then the one that delivers");
    assert.equal(sink.mails.length, 1);
    assert.deepEqual(sink.mails[0]!.to, ["dave@example.org"]);
    assert.equal(header(sink.mails[0]!, "Subject"), `[complete] job ${ref} of dave`, "the subject template is filled in");
  });
});
