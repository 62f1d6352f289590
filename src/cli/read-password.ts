import { UsageError } from "../errors.js";

/**
 * A password for `web-user`: typed at the terminal (not echoed, asked twice), or read from
 * stdin when it is not a terminal (one line; the line end is not part of it).
 */
export async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = "";
    for await (const chunk of process.stdin) text += chunk;
    const password = text.replace(/\r?\n$/, "");
    return checked(password);
  }
  const first = await askHidden("Password: ");
  const second = await askHidden("Again: ");
  if (first !== second) throw new UsageError("the two passwords differ");
  return checked(first);
}

function checked(password: string): string {
  if (password.length < 8) throw new UsageError("the password needs at least 8 characters");
  if (password.length > 1024) throw new UsageError("the password is longer than 1024 characters");
  if (/[\r\n]/.test(password)) throw new UsageError("the password is one line");
  return password;
}

/** Reads one line from the terminal in raw mode, echoing nothing. */
function askHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const input = process.stdin;
    process.stderr.write(question);
    input.setRawMode(true);
    input.setEncoding("utf8");
    input.resume();
    let text = "";
    const done = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.off("data", onData);
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(text);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === "\r" || char === "\n") return done();
        if (char === "\u0003") return done(new UsageError("interrupted"));
        if (char === "\u007f" || char === "\b") text = text.slice(0, -1);
        else text += char;
      }
    };
    input.on("data", onData);
  });
}
