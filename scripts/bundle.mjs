// Bundles the command (bin/offline-jobs) into dist/cli/, from tsc's output in dist/src; run
// after tsc (npm run build does both).
//
// Why: the cron run on an empty queue happens every minute on every host, and most of its
// start-up was Node loading modules one file at a time: about 190 of them (zod alone 95,
// then our own and commander's) before the first query. Loading is per file (resolve, read,
// compile, link), so one file per command's code path starts faster than the same code in many:
// measured on a 2-core machine, `offline-jobs run` on an empty queue took 290 ms unbundled, 248
// ms with zod and commander bundled, 225 ms with mysql2 and proper-lockfile as well, against
// 140 ms for `node` + mysql2 + one connection and query (npm run bench:cold-start).
//
// What is bundled: our code and the libraries the run's own path loads (BUNDLED). Every other
// dependency stays a plain import from node_modules: native code (sharp), packages that find
// their own files at run time (archiver, pdfjs-dist, htmx.org), and what only a job or another
// command loads, which the bundle's lazy chunks import when needed, as the sources do.
//
// The library (`import { enqueue } from "offline-jobs"`, and the handler modules a config
// names) is dist/src as tsc wrote it, not this bundle; the error classes a handler throws are
// recognised across the two copies (src/errors.ts says how).
import fs from "node:fs";
import { build } from "esbuild";

const BUNDLED = ["zod", "commander", "mysql2", "proper-lockfile"];

const pkg = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const outdir = new URL("../dist/cli/", import.meta.url).pathname;
fs.rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: [new URL("../dist/src/cli/index.js", import.meta.url).pathname],
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  external: Object.keys(pkg.dependencies).filter((name) => !BUNDLED.includes(name)),
  // The bundled CommonJS libraries (mysql2, commander) call require() for Node's own modules,
  // which an ES module does not have.
  banner: { js: 'import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire(import.meta.url);' },
  logLevel: "warning",
});
