import type { HostileWorld } from "./hostile-world.js";
import type { Json, Role } from "./hostile-values.js";

/**
 * Each built-in type's valid job (its "base") and the fields hostile-rows.ts abuses: what
 * JSON types and bounds the schema takes there, and which roots a path field is checked against.
 */

export interface FieldSpec {
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

export interface Base {
  name: string;
  type: string;
  data: (i: number) => Record<string, Json>;
  fields: FieldSpec[];
  /** The base job itself completes (so a valid change of a "decides" field does too). */
  completes: boolean;
  /** The argv-dumping template: its file per row. */
  dumpFile?: (i: number) => string;
}

export function bases(world: HostileWorld): Base[] {
  const { files, gen, trash, dumps, canary } = world;
  const pathField = (at: (string | number)[], role: Role, required = true): FieldSpec => ({ at, accepts: ["string"], role, text: "fails", required });
  const argField = (at: (string | number)[]): FieldSpec => ({
    at,
    accepts: ["string", "number", "boolean"],
    text: { min: 0, max: 65_536, nulFails: true },
    required: true,
  });
  const nameField = (at: (string | number)[], required = true): FieldSpec => ({ at, accepts: ["string"], text: "fails", required });
  const safeInt = { min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, int: true };
  return [
    {
      name: "noop",
      type: "noop",
      data: () => ({}),
      completes: true,
      fields: [{ at: ["sleepMs"], accepts: ["number"], number: { min: 0, max: 600_000, int: true }, skipValidAbove: 50 }, nameField(["fail"], false)],
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
export function baseDir(world: HostileWorld, spec: FieldSpec, base: Base): string {
  if (spec.role === "read") return world.files;
  if (spec.role === "delete") return world.trash;
  return base.name === "command-dump" ? world.dumps : world.gen;
}
