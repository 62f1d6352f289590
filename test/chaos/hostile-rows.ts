import path from "node:path";
import type { HostileWorld } from "./hostile-world.js";

/**
 * Hostile job_data for every built-in type, made from a table: for each type a valid job
 * (its "base") and the fields it has, and for each kind of field the ways to abuse it. The
 * rows say what must happen when the outcome is certain; the suite checks the rest (every
 * job ends, errors are clear, nothing outside the roots is touched) for all of them.
 */
export interface HostileRow {
  type: string;
  /** job_data exactly as inserted: not necessarily JSON. */
  jobData: string;
  user: string | null;
  /** What was done, for assertion messages. */
  label: string;
  /** The field that was changed, dotted as the schema error names it. */
  field?: string;
  /** What must happen; undefined when either is right as long as the job ends clearly. */
  expect?: "complete" | "failed";
  /** Honouring this job's path would reach outside the roots: it must fail. */
  escapes?: boolean;
  /** The argv-dumping template wrote here: its argv must arrive literally. */
  dump?: { file: string; a: string; b: string };
  /** The run retries this one (a legitimately transient failure). */
  transient?: boolean;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type Role = "read" | "write" | "delete";

interface FieldSpec {
  at: (string | number)[];
  /** JSON types the schema takes here. */
  accepts: Array<"string" | "number" | "boolean">;
  required?: boolean;
  /** A path checked against the read or write roots. */
  role?: Role;
  /** Text here is never valid ("fails": a path must be absolute, a name must be configured), or is within these bounds. */
  text?: "fails" | { min: number; max: number; nulFails?: boolean };
  number?: { min: number; max: number; int: boolean };
  /** Valid numbers above this are left out (a noop really sleeping for minutes). */
  skipValidAbove?: number;
}

interface Base {
  name: string;
  type: string;
  data: (i: number) => Record<string, Json>;
  fields: FieldSpec[];
  /** The base job itself completes (so a valid change of a "decides" field does too). */
  completes: boolean;
  /** The argv-dumping template: its file per row. */
  dumpFile?: (i: number) => string;
}

/** Raw JSON spliced in after JSON.stringify: what JSON.stringify cannot write itself. */
const RAW = {
  infinity: "@@RAW-INFINITY@@", // 1e999 parses to Infinity
  deep: "@@RAW-DEEP@@", // 10,000 nested arrays (JSON.stringify itself overflows the stack there)
};
const DEEP = 10_000;
const HUGE = 3 * 1024 * 1024;

function stringify(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll(`"${RAW.infinity}"`, "1e999")
    .replaceAll(`"${RAW.deep}"`, "[".repeat(DEEP) + "]".repeat(DEEP));
}

/** Strings that mean something to a shell, a terminal, a format function or a template. */
export function hostileTexts(canary: string): Array<[string, string]> {
  return [
    ["semicolon", `x; touch ${canary}/pwned-semicolon; rm -rf ${canary}`],
    ["subst", `$(touch ${canary}/pwned-subst)`],
    ["backticks", `\`touch ${canary}/pwned-backtick\``],
    ["pipe", `| touch ${canary}/pwned-pipe`],
    ["and", `&& rm -rf ${canary} &&`],
    ["newline", `line1\ntouch ${canary}/pwned-newline\n`],
    ["single-quotes", `x' ; touch ${canary}/pwned-squote ; echo '`],
    ["double-quotes", `x" ; touch ${canary}/pwned-dquote ; echo "`],
    ["redirect", `> ${canary}/pwned-redirect`],
    ["ifs", `\${IFS}touch\${IFS}${canary}/pwned-ifs`],
    ["option", `--output=${canary}/pwned-option`],
    ["dash", "-rf"],
    ["format", "%s%s%n%x%p"],
    ["placeholders", "{ref}{user}{a}{out}{source}{output}"],
    ["glob", `${canary}/*`],
    ["tilde", "~root/.ssh/id_rsa"],
    ["env", "$HOME ${OFFLINE_JOBS_DATABASE_URL} %PATH%"],
    ["bidi", "report\u202Egpj.exe"],
    ["nul", "a\u0000b"],
    ["ansi", "\u001b[31mred\u001b[0m\u0007"],
    ["controls", "\u0001\u0008\u007f\u0085\u2028\u2029"],
    ["unicode", "Ünïcödé 名前 🎉 e\u0301"],
    ["lone-surrogate", "x\uD800y"],
    ["empty", ""],
    ["spaces", "   "],
    ["sql", "'; DROP TABLE job_queue; --"],
    ["html", "<script>alert(1)</script>"],
    ["long", "y".repeat(60_000)],
    ["too-long", "z".repeat(70_000)],
  ];
}

/** Paths that try to leave the roots, or are merely strange, for a field whose paths start at `base`. */
function hostilePaths(world: HostileWorld, base: string, role: Role): Array<{ label: string; value: string; escapes: boolean }> {
  const { canary } = world;
  const toCanary = path.relative(base, canary);
  const self = (name: string) => (role === "delete" ? `${name}-self` : name);
  return [
    { label: "traversal", value: `${base}/${toCanary}/secret.txt`, escapes: true },
    { label: "traversal-deep", value: `${base}/${"../".repeat(12)}etc/passwd`, escapes: true },
    { label: "dotdot-inside", value: `${base}/x/../a.txt`, escapes: false },
    { label: "absolute-outside", value: `${canary}/secret.txt`, escapes: true },
    { label: "etc-passwd", value: "/etc/passwd", escapes: true },
    { label: "proc-environ", value: "/proc/self/environ", escapes: true },
    { label: "filesystem-root", value: "/", escapes: true },
    // Its parent is the write root itself for outputs (allowed), outside for sources.
    { label: "parent", value: `${base}/..`, escapes: role !== "write" },
    { label: "symlinked-dir", value: `${base}/escape-dir/secret.txt`, escapes: true },
    { label: "symlinked-dir-new", value: `${base}/escape-dir/new/file.txt`, escapes: true },
    { label: "symlinked-dir-itself", value: `${base}/${self("escape-dir")}`, escapes: role !== "delete" },
    { label: "symlinked-file", value: `${base}/${self("escape-file")}`, escapes: role !== "delete" },
    { label: "relative-symlink", value: `${base}/escape-rel/sub/deep.txt`, escapes: true },
    { label: "symlink-to-etc", value: `${base}/escape-etc/passwd`, escapes: true },
    { label: "symlink-loop", value: `${base}/loop/x`, escapes: false },
    { label: "windows-drive", value: "C:\\Windows\\win.ini", escapes: true },
    { label: "windows-unc", value: "\\\\server\\share\\secret.txt", escapes: true },
    { label: "windows-separators", value: `${base}/sub\\..\\..\\..\\canary\\secret.txt`, escapes: false },
    { label: "file-url", value: "file:///etc/passwd", escapes: true },
    { label: "file-url-canary", value: `file://${canary}/secret.txt`, escapes: true },
    { label: "relative", value: "secret.txt", escapes: true },
    { label: "relative-dotdot", value: "../canary/secret.txt", escapes: true },
    { label: "tilde", value: "~/.ssh/id_rsa", escapes: true },
    { label: "nul", value: `${base}/a.txt\u0000/${toCanary}/secret.txt`, escapes: true },
    { label: "bidi-name", value: `${base}/\u202Etxt.exe`, escapes: false },
    { label: "newline-name", value: `${base}/new\nline.txt`, escapes: false },
    { label: "long-name", value: `${base}/${"n".repeat(300)}`, escapes: false },
    { label: "long-path", value: `${base}/${"d/".repeat(1000)}x`, escapes: false },
    { label: "device", value: "/dev/zero", escapes: true },
    { label: "fifo", value: `${base}/fifo`, escapes: false },
    { label: "inner-symlink", value: path.join(world.files, "inner-link.png"), escapes: false },
    { label: "directory", value: base, escapes: false },
    { label: "trailing-slash", value: `${base}/a.txt/`, escapes: false },
    { label: "dot-segments", value: `${base}/././a.txt`, escapes: false },
  ];
}

/** Values of the wrong JSON type (or shape) for most fields. */
const WRONG: Array<[string, Json]> = [
  ["null", null],
  ["true", true],
  ["zero", 0],
  ["fraction", -1.5],
  ["empty-array", []],
  ["empty-object", {}],
  ["array", ["x"]],
  ["operator-object", { $gt: "" }],
  ["deep-array", RAW.deep],
];

const NUMBERS: Array<[string, Json]> = [
  ["0", 0],
  ["1", 1],
  ["-1", -1],
  ["1.5", 1.5],
  ["1e308", 1e308],
  ["-1e308", -1e308],
  ["2^53", 2 ** 53],
  ["101", 101],
  ["16384", 16_384],
  ["16385", 16_385],
  ["100000", 100_000],
  ["600001", 600_001],
  ["86400000", 86_400_000],
  ["1e9", 1e9],
  ["1e999", RAW.infinity],
  ["NaN-string", "NaN"],
  ["Infinity-string", "Infinity"],
  ["number-string", "100"],
];

const MALFORMED: Array<[string, string]> = [
  ["open-brace", "{"],
  ["close-brace", "}"],
  ["words", "not json"],
  ["single-quoted", "{'sleepMs': 1}"],
  ["trailing-comma", '{"a":1,}'],
  ["trailing-garbage", "{} x"],
  ["unterminated-array", "[1,2"],
  ["nul", "\u0000"],
  ["bom", "\uFEFF{}"],
  ["nan", '{"a": NaN}'],
  ["hex", '{"a": 0x10}'],
  ["raw-newline-in-string", '{"a": "x\ny"}'],
  ["bidi", "\u202E{}"],
  ["undefined", "undefined"],
  ["extra-brace", '{"a":1}}'],
  ["double-braces", "{{}}"],
  ["deep-unbalanced", "[".repeat(100_000)],
];

const NOT_OBJECTS: Array<[string, string]> = [
  ["null", "null"],
  ["array", "[]"],
  ["string", '"noop"'],
  ["number", "42"],
  ["boolean", "true"],
  ["deep-arrays", "[".repeat(DEEP) + "]".repeat(DEEP)],
  ["deep-objects", '{"a":'.repeat(DEEP) + "1" + "}".repeat(DEEP)],
];

function bases(world: HostileWorld): Base[] {
  const { files, gen, trash, dumps, canary } = world;
  const pathField = (at: (string | number)[], role: Role, required = true): FieldSpec => ({ at, accepts: ["string"], role, text: "fails", required });
  const argField = (at: (string | number)[]): FieldSpec => ({ at, accepts: ["string", "number", "boolean"], text: { min: 0, max: 65_536, nulFails: true }, required: true });
  const nameField = (at: (string | number)[], required = true): FieldSpec => ({ at, accepts: ["string"], text: "fails", required });
  const safeInt = { min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, int: true };
  return [
    {
      name: "noop",
      type: "noop",
      data: () => ({}),
      completes: true,
      fields: [
        { at: ["sleepMs"], accepts: ["number"], number: { min: 0, max: 600_000, int: true }, skipValidAbove: 50 },
        nameField(["fail"], false),
      ],
    },
    {
      name: "command-dump",
      type: "command",
      data: (i) => ({ command: "dump", args: { out: `${dumps}/dump-${i}.json`, a: "alpha", b: "beta" } }),
      completes: true,
      dumpFile: (i) => `${dumps}/dump-${i}.json`,
      fields: [nameField(["command"]), pathField(["args", "out"], "write"), argField(["args", "a"]), argField(["args", "b"])],
    },
    {
      name: "command-echo",
      type: "command",
      data: () => ({ command: "echo", args: { a: "hello" } }),
      completes: true,
      fields: [argField(["args", "a"])],
    },
    {
      name: "command-copy",
      type: "command",
      data: (i) => ({ command: "copy", args: { src: `${files}/a.txt`, dst: `${gen}/copy-${i}.txt` } }),
      completes: true,
      fields: [pathField(["args", "src"], "read"), pathField(["args", "dst"], "write")],
    },
    {
      name: "command-argv",
      type: "command",
      // allowArbitraryCommands is off: a row must never get to name its own program.
      data: () => ({ argv: ["sh", "-c", `touch ${canary}/pwned-argv`] }),
      completes: false,
      fields: [nameField(["argv", 0]), nameField(["argv", 2])],
    },
    {
      name: "create_previews",
      type: "create_previews",
      data: (i) => ({ source: `${files}/photo.png`, outputDir: `${gen}/previews-${i}` }),
      completes: true,
      fields: [pathField(["source"], "read"), pathField(["outputDir"], "write", false), nameField(["sizes", 0])],
    },
    {
      name: "alternative-transform",
      type: "create_alternative_file",
      data: (i) => ({ source: `${files}/photo.png`, output: `${gen}/alt-${i}.webp`, transform: { format: "webp", width: 20, height: 20, quality: 60 } }),
      completes: true,
      fields: [
        pathField(["source"], "read"),
        pathField(["output"], "write"),
        nameField(["transform", "format"]),
        { at: ["transform", "width"], accepts: ["number"], number: { min: 1, max: 16_384, int: true } },
        { at: ["transform", "height"], accepts: ["number"], number: { min: 1, max: 16_384, int: true } },
        { at: ["transform", "quality"], accepts: ["number"], number: { min: 1, max: 100, int: true } },
      ],
    },
    {
      name: "alternative-command",
      type: "create_alternative_file",
      data: (i) => ({ source: `${files}/a.txt`, output: `${gen}/altc-${i}.txt`, command: "convert", args: { a: "x" } }),
      completes: true,
      fields: [nameField(["command"]), argField(["args", "a"]), nameField(["preset"], false)],
    },
    {
      name: "download",
      type: "create_download_file",
      data: () => ({ command: "download", args: { a: "x" }, output: "report.txt" }),
      completes: true,
      fields: [nameField(["command"]), argField(["args", "a"]), { at: ["output"], accepts: ["string"], text: { min: 1, max: 200 } }],
    },
    {
      name: "collection",
      type: "collection_download",
      data: () => ({ files: [{ path: `${files}/a.txt`, name: "a.txt" }, { path: `${files}/photo.png` }], name: "collection", manifest: true }),
      completes: true,
      fields: [
        pathField(["files", 0, "path"], "read"),
        { at: ["files", 0, "name"], accepts: ["string"], text: { min: 1, max: 1024 } },
        { at: ["name"], accepts: ["string"], text: { min: 1, max: 200 } },
        nameField(["compression"], false),
        { at: ["manifest"], accepts: ["boolean"] },
      ],
    },
    {
      name: "delete",
      type: "delete_file",
      data: (i) => ({ paths: [`${trash}/victim-${i}`] }),
      completes: true,
      fields: [pathField(["paths", 0], "delete"), { at: ["recursive"], accepts: ["boolean"] }],
    },
    {
      name: "delete-one",
      type: "delete_file",
      data: (i) => ({ path: `${trash}/victim-${i}` }),
      completes: true,
      fields: [pathField(["path"], "delete")],
    },
    {
      name: "extract_text",
      type: "extract_text",
      data: () => ({ source: `${files}/doc.txt`, resource: 1, field: 8 }),
      completes: true,
      fields: [
        pathField(["source"], "read"),
        { at: ["resource"], accepts: ["string", "number"], text: { min: 1, max: 255 }, number: safeInt },
        { at: ["field"], accepts: ["string", "number"], text: { min: 1, max: 255 }, number: safeInt },
      ],
    },
  ];
}

/** The folder a field's hostile paths start from: outputs and deletions never aim at what other jobs read. */
function baseDir(world: HostileWorld, spec: FieldSpec, base: Base): string {
  if (spec.role === "read") return world.files;
  if (spec.role === "delete") return world.trash;
  return base.name === "command-dump" ? world.dumps : world.gen;
}

function setAt(target: Record<string, Json>, at: (string | number)[], value: Json | undefined): Record<string, Json> {
  const copy = structuredClone(target);
  let node: any = copy;
  at.slice(0, -1).forEach((key, k) => {
    node[key] ??= typeof at[k + 1] === "number" ? [] : {}; // a field the base leaves out
    node = node[key];
  });
  const last = at.at(-1)!;
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = value;
  return copy;
}

function validText(value: string, spec: FieldSpec): boolean {
  if (!spec.accepts.includes("string") || spec.text === undefined || spec.text === "fails") return false;
  const { min, max, nulFails } = spec.text;
  return value.length >= min && value.length <= max && !(nulFails && value.includes("\0"));
}

function validNumber(value: number, spec: FieldSpec): boolean {
  if (!spec.accepts.includes("number") || !Number.isFinite(value)) return false;
  if (!spec.number) return true;
  const { min, max, int } = spec.number;
  return (!int || Number.isSafeInteger(value)) && value >= min && value <= max;
}

function valid(value: Json, spec: FieldSpec): boolean {
  if (typeof value === "string") return value !== RAW.deep && value !== RAW.infinity && validText(value, spec);
  if (typeof value === "number") return validNumber(value, spec);
  if (typeof value === "boolean") return spec.accepts.includes("boolean");
  return false;
}

/** Every hostile row: fields × mutators for each type, then whole-document mutators. */
export function hostileRows(world: HostileWorld): HostileRow[] {
  const rows: HostileRow[] = [];
  let i = 0;
  /** One multi-megabyte string per type is enough to prove the bound (and keeps the database small). */
  const hugeDone = new Set<string>();
  const add = (base: Base, label: string, data: Record<string, Json> | string, extra: Partial<HostileRow> = {}) => {
    rows.push({ type: base.type, jobData: typeof data === "string" ? data : stringify(data), user: null, label: `${base.name}: ${label}`, ...extra });
  };

  for (const base of bases(world)) {
    add(base, "valid", base.data(i++), { expect: base.completes ? "complete" : "failed" });
    for (const spec of base.fields) {
      const field = spec.at.join(".");
      const outcome = (ok: boolean): HostileRow["expect"] => (ok ? (base.completes ? "complete" : undefined) : "failed");
      const mutate = (label: string, value: Json | undefined, extra: Partial<HostileRow> = {}) => {
        const n = i++;
        add(base, `${field} ${label}`, setAt(base.data(n), spec.at, value), { field, ...extra, ...dumpOf(base, n, spec, value, extra) });
      };
      mutate("missing", undefined, { expect: spec.required ? "failed" : undefined });
      for (const [label, value] of WRONG) mutate(label, value, { expect: outcome(valid(value, spec)) });
      if (spec.accepts.includes("string")) {
        for (const [label, value] of hostileTexts(world.canary)) mutate(label, value, { expect: outcome(valid(value, spec)) });
        if (!hugeDone.has(base.type)) {
          hugeDone.add(base.type);
          const huge = "h".repeat(HUGE);
          mutate("huge", huge, { expect: outcome(valid(huge, spec)) });
        }
      }
      if (spec.role) {
        for (const { label, value, escapes } of hostilePaths(world, baseDir(world, spec, base), spec.role)) {
          mutate(label, value, escapes ? { expect: "failed", escapes } : {});
        }
      }
      if (spec.number) {
        for (const [label, value] of NUMBERS) {
          const ok = valid(value, spec);
          if (ok && spec.skipValidAbove !== undefined && (value as number) > spec.skipValidAbove) continue;
          mutate(label, value, { expect: outcome(ok) });
        }
      }
    }
    const expectEmpty = base.type === "noop" ? "complete" : "failed";
    for (const [label, text] of MALFORMED) add(base, `malformed ${label}`, text, { expect: "failed" });
    for (const [label, text] of NOT_OBJECTS) add(base, `not an object: ${label}`, text, { expect: "failed" });
    add(base, "empty job_data", "", { expect: expectEmpty });
    add(base, "blank job_data", " \n\t ", { expect: expectEmpty });
    add(base, "unknown key", { ...base.data(i++), unexpected: true }, { expect: "failed" });
    add(base, "__proto__ key", `{"__proto__":{"polluted":true},${stringify(base.data(i++)).slice(1)}`.replace(/,}$/, "}"), { expect: "failed" });
    add(base, "constructor key", { ...base.data(i++), constructor: { prototype: { polluted: true } } }, { expect: "failed" });
  }
  add(bases(world)[0]!, "huge garbage", "#".repeat(HUGE), { expect: "failed" });

  // Hostile users: {user} reaches the argv-dumping template; it too must arrive as plain text.
  const dumpBase = bases(world).find((b) => b.name === "command-dump")!;
  for (const [label, user] of hostileTexts(world.canary)) {
    if (user.length > 191) continue; // the column's width: such an INSERT fails in the application, not here
    const n = i++;
    add(dumpBase, `user ${label}`, dumpBase.data(n), {
      user,
      field: "user",
      expect: user.includes("\0") ? "failed" : "complete",
      dump: user.includes("\0") ? undefined : { file: dumpBase.dumpFile!(n), a: "alpha", b: "beta" },
    });
  }

  // Big arrays: one past each limit.
  const collection = bases(world).find((b) => b.name === "collection")!;
  add(collection, "100,001 files", { files: Array.from({ length: 100_001 }, () => ({ path: "/f" })) }, { expect: "failed", field: "files" });
  const del = bases(world).find((b) => b.name === "delete")!;
  add(del, "10,001 paths", { paths: Array.from({ length: 10_001 }, (_, k) => `/v${k}`) }, { expect: "failed", field: "paths" });
  const previews = bases(world).find((b) => b.name === "create_previews")!;
  add(previews, "33 sizes", { ...previews.data(i++), sizes: Array.from({ length: 33 }, () => "thm") }, { expect: "failed", field: "sizes" });
  const echo = bases(world).find((b) => b.name === "command-echo")!;
  add(echo, "a 3 MB argument name", { command: "echo", args: { a: "x", ["k".repeat(HUGE)]: "v" } }, { expect: "failed", field: "args" });
  add(echo, "100,000 arguments", { command: "echo", args: Object.fromEntries(Array.from({ length: 100_000 }, (_, k) => [`k${k}`, "v"])) }, { expect: "failed", field: "args" });
  add(echo, "argument named __proto__", `{"command":"echo","args":{"a":"x","__proto__":"y"}}`);

  // Legitimate failures, so that the suite also sees the normal ones.
  const noop = bases(world)[0]!;
  add(noop, "asked to fail", { fail: "permanent" }, { expect: "failed" });
  add(noop, "asked to fail transiently", { fail: "transient" }, { expect: "failed", transient: true });
  return rows;
}

/** For the argv-dumping template: what its file must hold when args.a or args.b was changed to a text. */
function dumpOf(base: Base, n: number, spec: FieldSpec, value: Json | undefined, extra: Partial<HostileRow>): Partial<HostileRow> {
  if (!base.dumpFile || extra.expect !== "complete") return {};
  const field = spec.at.join(".");
  if (field !== "args.a" && field !== "args.b") return {};
  const args = { a: "alpha", b: "beta", [spec.at[1]!]: String(value) };
  return { dump: { file: base.dumpFile(n), a: args.a!, b: args.b! } };
}
