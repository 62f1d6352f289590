import path from "node:path";
import type { HostileWorld } from "./hostile-world.js";

/**
 * The ways to abuse a field, for hostile-rows.ts: texts that mean something to a shell, a
 * terminal or a template; paths that try to leave the roots; values of the wrong type;
 * absurd numbers; job_data that is not JSON or not an object.
 */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type Role = "read" | "write" | "delete";

/** Raw JSON spliced in after JSON.stringify: what JSON.stringify cannot write itself. */
export const RAW = {
  infinity: "@@RAW-INFINITY@@", // 1e999 parses to Infinity
  deep: "@@RAW-DEEP@@", // 10,000 nested arrays (JSON.stringify itself overflows the stack there)
};
export const DEEP = 10_000;
export const HUGE = 3 * 1024 * 1024;

export function stringify(value: unknown): string {
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
export function hostilePaths(world: HostileWorld, base: string, role: Role): Array<{ label: string; value: string; escapes: boolean }> {
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
export const WRONG: Array<[string, Json]> = [
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

export const NUMBERS: Array<[string, Json]> = [
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

export const MALFORMED: Array<[string, string]> = [
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

export const NOT_OBJECTS: Array<[string, string]> = [
  ["null", "null"],
  ["array", "[]"],
  ["string", '"noop"'],
  ["number", "42"],
  ["boolean", "true"],
  ["deep-arrays", "[".repeat(DEEP) + "]".repeat(DEEP)],
  ["deep-objects", '{"a":'.repeat(DEEP) + "1" + "}".repeat(DEEP)],
];
