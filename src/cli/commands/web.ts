import { Command } from "commander";
import { z } from "zod";
import { createWebApp } from "../../web/app.js";
import { checkListen, parseListen } from "../../web/listen-address.js";
import { identityConfigured } from "../../web/identity/identity.js";
import { startServer } from "../../web/server.js";
import { parseOptions, withContext, type GlobalOptions } from "../context.js";

const optionsSchema = z.object({
  listen: z.string().optional(),
  basePath: z
    .string()
    .regex(/^\/([A-Za-z0-9._~-]+\/?)*$/, "must be a path such as /jobs")
    .optional(),
  readOnly: z.boolean().optional(),
});

const EXAMPLES = `
Examples:
  offline-jobs web                                   on 127.0.0.1:8080 (web.listen), at /
  offline-jobs web --listen 127.0.0.1:8081 --base-path /jobs   behind a proxy that forwards /jobs/
  offline-jobs web --read-only                       nobody can change anything

Who the user is comes from web.grantSecret (signed links from the application),
web.trustedHeader (a reverse proxy's login) or web.users (a sign-in form). With none of
them the page listens only on loopback, and its visitor may view every job but change
nothing (unless web.localAdmin is true). README, "The jobs page", has the details.`;

export function webCommand(): Command {
  return new Command("web")
    .description('serve the jobs page: overview, list, details with the live log, create, cancel, retry… (README, "The jobs page")')
    .option("--listen <host:port>", "address to listen on (default: web.listen, 127.0.0.1:8080)")
    .option("--base-path <path>", "path the page is served under, e.g. /jobs (default: web.basePath, /)")
    .option("--read-only", "refuse every change (default: web.readOnly)")
    .addHelpText("after", EXAMPLES)
    .action(async (_raw, command: Command) => {
      const options = parseOptions(optionsSchema, command.opts());
      await withContext(command.optsWithGlobals<GlobalOptions>(), async ({ config, db, registry, logger }) => {
        const address = parseListen(options.listen ?? config.web.listen);
        checkListen(address, config.web);
        const { app, site } = createWebApp({ config, db, registry, logger, basePath: options.basePath, readOnly: options.readOnly });
        const server = await startServer(app, address.host, address.port);
        const where = `http://${address.host.includes(":") ? `[${address.host}]` : address.host}:${server.address.port}${site.paths.home}`;
        const who = identityConfigured(config.web)
          ? ""
          : config.web.localAdmin
            ? " (no identity configured: loopback only, anonymous local administrator)"
            : " (no identity configured: loopback only, view-only)";
        logger.info(`jobs page at ${where}${site.readOnly ? ", read-only" : ""}${who}`);
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off("SIGINT", stop);
            process.off("SIGTERM", stop);
            logger.info("jobs page: stopping");
            void server.close().then(resolve);
          };
          process.on("SIGINT", stop);
          process.on("SIGTERM", stop);
        });
      });
    });
}
