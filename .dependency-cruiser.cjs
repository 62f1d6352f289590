/**
 * Which module may import what (docs/architecture.md, "The wings and what each may import").
 * Checked by `npm run lint` in CI. The wings, from the ground up:
 *
 *   src/*.ts (errors, quote, logger…) < config < queue, locks < job < media < handlers
 *   < notify, metrics < runner < client (the library's enqueue, submit and their checks)
 *   < web (the jobs page) < cli, and src/index.ts (the library's face)
 *
 * A wing imports only from wings below it. On top of that, each native or heavy library has
 * one home, so that it can be replaced in one place: SQL (mysql2) lives in src/queue, sharp,
 * archiver, pdfjs-dist, yauzl, file-type and htmlparser2 in src/media, proper-lockfile in
 * src/locks, execa in src/job, commander in src/cli, nodemailer in src/notify, hono in src/web
 * (and @hono/node-server, the HTTP server, in src/web/server.ts alone).
 */
/** The wings by level, from the ground up: a wing imports only from lower levels, not from its siblings. */
const LEVELS = [["config"], ["queue", "locks"], ["job"], ["media"], ["handlers"], ["notify", "metrics"], ["runner"], ["client"], ["web"], ["cli"]];
const WINGS = LEVELS.flat();
const levelOf = (wing) => LEVELS.findIndex((level) => level.includes(wing));
/** What each wing may NOT import: every other wing at its level or above. */
const ABOVE = Object.fromEntries(WINGS.map((wing) => [wing, WINGS.filter((other) => other !== wing && levelOf(other) >= levelOf(wing))]));

const layering = WINGS.filter((wing) => ABOVE[wing].length > 0).map((wing) => ({
  name: `${wing}-imports-only-lower-wings`,
  comment: `src/${wing} may not import from ${ABOVE[wing].map((w) => `src/${w}`).join(", ")}`,
  severity: "error",
  from: { path: `^src/${wing}/` },
  to: { path: `^src/(${ABOVE[wing].join("|")})/` },
}));

/** A library imported outside its home. */
const home = (name, packages, folder) => ({
  name,
  comment: `${packages.join(", ")} may be imported only in ${folder}`,
  severity: "error",
  from: { path: "^src/", pathNot: `^${folder}` },
  to: { dependencyTypes: ["npm"], path: `node_modules/(${packages.join("|")})/` },
});

/** A part of src/runner importing a part above it. */
const runnerPart = (name, from, above) => ({
  name,
  comment: `src/runner/${from} may not import from ${above.map((p) => `src/runner/${p}/`).join(", ")}`,
  severity: "error",
  from: { path: `^src/runner/${from}` },
  to: { path: `^src/runner/(${above.join("|")})/` },
});

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "no import cycle, type-only ones included: a cycle means two modules are one thing, or a wall is missing",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "ground-imports-no-wing",
      comment: "the top-level helpers of src (errors, quote, logger, suggest, find-executable) import no wing",
      severity: "error",
      from: { path: "^src/[^/]+\\.ts$", pathNot: "^src/index\\.ts$" },
      to: { path: `^src/(${WINGS.join("|")})/` },
    },
    ...layering,
    // Inside src/runner: one attempt < the run loop < the process drivers, and the runner's
    // shared types (src/runner/*.ts) import none of the three, so the parts never form a cycle.
    runnerPart("runner-attempt-imports-no-loop-or-process", "attempt/", ["loop", "process"]),
    runnerPart("runner-loop-imports-no-process", "loop/", ["process"]),
    runnerPart("runner-shared-types-import-no-part", "[^/]+\\.ts$", ["attempt", "loop", "process"]),
    home("sql-only-in-queue", ["mysql2"], "src/queue/"),
    home("media-libraries-only-in-media", ["sharp", "archiver", "pdfjs-dist", "yauzl", "file-type", "htmlparser2"], "src/media/"),
    home("lockfile-only-in-locks", ["proper-lockfile"], "src/locks/"),
    home("subprocesses-only-in-job", ["execa"], "src/job/"),
    home("commander-only-in-cli", ["commander"], "src/cli/"),
    home("mail-only-in-notify", ["nodemailer"], "src/notify/"),
    home("hono-only-in-web", ["hono"], "src/web/"),
    home("node-server-only-in-web-server", ["@hono/node-server"], "src/web/server\\.ts$"),
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^dist/" },
  },
};
