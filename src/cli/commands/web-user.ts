import { Command } from "commander";
import { z } from "zod";
import { UsageError } from "../../errors.js";
import { hashPassword } from "../../web/identity/password.js";
import { parseOptions } from "../context.js";
import { readPassword } from "../read-password.js";

const EXAMPLES = `
Examples:
  offline-jobs web-user add alice --role admin     asks for a password, prints the config lines
  printf '%s' "$PASSWORD" | offline-jobs web-user hash   prints a hash for web.users.<name>.passwordHash

The config file is the operator's: these commands print, and change no file. Put the lines
under "web": { "users": { … } } and restart offline-jobs web.`;

const addSchema = z.object({ role: z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "a role name uses letters, digits, _ . -")).default([]) });

export function webUserCommand(): Command {
  const command = new Command("web-user")
    .description("built-in users of the jobs page: print a password hash, or a user's config lines")
    .addHelpText("after", EXAMPLES);
  command
    .command("hash")
    .description("read a password (from the terminal without echo, or from stdin) and print its scrypt hash")
    .action(async () => {
      process.stdout.write(`${await hashPassword(await readPassword())}\n`);
    });
  command
    .command("add")
    .description("read a password and print the web.users entry for NAME to paste into the config")
    .argument("<name>", "the user's name (as the jobs' user column has it)")
    .option("--role <role>", "a role from web.roles (repeatable)", (value: string, previous: string[] = []) => [...previous, value])
    .action(async (name: string, _raw, sub: Command) => {
      const options = parseOptions(addSchema, sub.opts());
      if (name.length > 191 || /[\u0000-\u001f\u007f]/.test(name)) throw new UsageError("the user name is 1-191 characters without control characters");
      const passwordHash = await hashPassword(await readPassword());
      process.stdout.write(`${JSON.stringify({ [name]: { passwordHash, roles: options.role } }, null, 2).slice(2, -2)}\n`);
    });
  return command;
}
