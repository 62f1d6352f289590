import { baseDir, bases, type Base, type FieldSpec } from "./hostile-bases.js";
import { HUGE, hostilePaths, hostileTexts, MALFORMED, NOT_OBJECTS, NUMBERS, RAW, stringify, WRONG, type Json } from "./hostile-values.js";
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
  /** What must happen; undefined when either is right as long as the job ends clearly ("pending": a type no handler takes, never claimed). */
  expect?: "complete" | "failed" | "pending";
  /** The class it belongs to (hostile-classes.ts), for the counts; undefined for the instance rows. */
  klass?: string;
  /** Other columns of the row, as the application could set them (priority, attempts, success_text…). */
  columns?: Record<string, string | number | null>;
  /** Its path goes through a folder the flipper swaps for a symlink out of the roots. */
  swap?: boolean;
  /** Its source is a playlist naming a file outside the roots. */
  playlist?: boolean;
  /** Inserted after every other row (an explicit ref near the column's limit). */
  last?: boolean;
  /** Honouring this job's path would reach outside the roots: it must fail. */
  escapes?: boolean;
  /** The argv-dumping template wrote here: its argv must arrive literally. */
  dump?: { file: string; a: string; b: string };
  /** The run retries this one (a legitimately transient failure). */
  transient?: boolean;
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
  add(
    echo,
    "100,000 arguments",
    { command: "echo", args: Object.fromEntries(Array.from({ length: 100_000 }, (_, k) => [`k${k}`, "v"])) },
    { expect: "failed", field: "args" },
  );
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
