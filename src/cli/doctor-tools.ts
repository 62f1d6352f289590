import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Config } from "../config/schema.js";
import { declarationWarning } from "../config/template-declarations.js";
import { findExecutable } from "../find-executable.js";
import type { Registry } from "../handlers/registry.js";
import type { CheckResult } from "./doctor-result.js";

/**
 * `doctor`'s look at the programs the handlers run. A program is *needed* (FAIL when missing)
 * only when the config asks for something that cannot work without it: ffmpeg presets without
 * ffmpeg, a command template whose program is not there. A program that only some inputs of a
 * built-in type need (ffmpeg for video previews, poppler for PDFs) is a warning, and nothing at
 * all when every type that uses it is hidden or disabled (types.<name>.hidden / .enabled: the
 * operator does not use it here).
 */
interface Tool {
  name: string;
  /** What src/media runs: the same environment overrides. */
  command: () => string;
  versionArgs: string[];
  usedBy: string[];
  /** What fails without it. */
  purpose: string;
  /** Why this config cannot do without it, if it cannot. */
  neededBecause?: (config: Config) => string | undefined;
}

const needsFfmpeg = (config: Config) => (Object.keys(config.ffmpegPresets).length > 0 ? "ffmpegPresets are configured" : undefined);

const TOOLS: Tool[] = [
  {
    name: "ffmpeg",
    command: () => process.env.FFMPEG_PATH || "ffmpeg",
    versionArgs: ["-version"],
    usedBy: ["create_previews", "create_alternative_file"],
    purpose: "video and audio previews and transcodes will fail",
    neededBecause: needsFfmpeg,
  },
  {
    name: "ffprobe",
    command: () => process.env.FFPROBE_PATH || "ffprobe",
    versionArgs: ["-version"],
    usedBy: ["create_previews", "create_alternative_file"],
    purpose: "video and audio previews and transcodes will fail",
    neededBecause: needsFfmpeg,
  },
  { name: "pdfinfo", command: () => "pdfinfo", versionArgs: ["-v"], usedBy: ["create_previews"], purpose: "PDF previews will fail (poppler-utils)" },
  { name: "pdftoppm", command: () => "pdftoppm", versionArgs: ["-v"], usedBy: ["create_previews"], purpose: "PDF previews will fail (poppler-utils)" },
  {
    name: "pdftotext",
    command: () => "pdftotext",
    versionArgs: ["-v"],
    usedBy: ["extract_text"],
    purpose: "PDF text is read with pdfjs-dist instead, many times slower (poppler-utils)",
  },
  {
    name: "prlimit",
    command: () => "prlimit",
    versionArgs: ["--version"],
    usedBy: ["create_previews", "create_alternative_file", "extract_text", "command", "create_download_file"],
    purpose: "subprocesses will not start while subprocesses limits are set (util-linux)",
    neededBecause: (config) =>
      config.subprocesses.memoryMiB > 0 || config.subprocesses.fileMiB > 0 ? "every subprocess starts under it while subprocesses limits are set" : undefined,
  },
];

export async function checkTools(config: Config, registry: Registry | undefined): Promise<CheckResult[]> {
  return Promise.all(TOOLS.map((tool) => checkTool(tool, config, registry)));
}

async function checkTool(tool: Tool, config: Config, registry: Registry | undefined): Promise<CheckResult> {
  const name = tool.name;
  const inUse = tool.usedBy.filter((type) => !registry || (registry.get(type) && !registry.settings(type).hidden && registry.settings(type).enabled));
  const found = findExecutable(tool.command());
  if (!found) {
    const why = tool.neededBecause?.(config);
    if (why) return { name, status: "fail", detail: `not found (${tool.command()}), and ${why}` };
    if (inUse.length === 0) return { name, status: "ok", detail: `not found; not needed (${tool.usedBy.join(", ")} hidden or disabled)` };
    return { name, status: "warn", detail: `not found (${tool.command()}): ${tool.purpose}` };
  }
  const version = await programVersion(found, tool.versionArgs);
  if (version.error) return { name, status: "warn", detail: `${found} does not run: ${version.error}` };
  return { name, status: "ok", detail: `${version.line} (${found})` };
}

/** Each command template's program must exist: its jobs cannot run otherwise. */
export function checkCommandTemplates(config: Config): CheckResult {
  const names = Object.keys(config.commands);
  if (names.length === 0) return { name: "commands", status: "ok", detail: "no command templates configured" };
  const missing = names.filter((command) => {
    const template = config.commands[command]!;
    const program = template.argv[0]!;
    // A relative program name with a cwd is looked up from that folder, as spawn does.
    const lookup = program.includes("/") && !path.isAbsolute(program) && template.cwd ? path.join(template.cwd, program) : program;
    return !findExecutable(lookup);
  });
  // A cwd that is not there makes every job of the template fail as "could not start".
  const badCwd = names.flatMap((command) => {
    const cwd = config.commands[command]!.cwd;
    if (cwd === undefined) return [];
    const problem = !fs.existsSync(cwd) ? "does not exist" : !fs.statSync(cwd).isDirectory() ? "is not a folder" : undefined;
    return problem ? [`the working folder ${cwd} of ${command} ${problem}`] : [];
  });
  if (missing.length || badCwd.length) {
    return {
      name: "commands",
      status: "fail",
      detail: [...(missing.length ? [`program not found for ${missing.map((c) => `${c} (${config.commands[c]!.argv[0]})`).join(", ")}`] : []), ...badCwd].join(
        "; ",
      ),
    };
  }
  // Old-style templates load and run, read the safe way; what to declare is worth a warning.
  const undeclared = names.flatMap((command) => declarationWarning(command, config.commands[command]!) ?? []);
  if (undeclared.length) return { name: "commands", status: "warn", detail: `${names.length} template(s), every program found; ${undeclared.join("; ")}` };
  return { name: "commands", status: "ok", detail: `${names.length} template(s), every program found, every placeholder declared` };
}

/** The program's own version line: "ffmpeg version 5.1.6-0+deb12u1", "pdftotext version 22.02.0". */
function programVersion(file: string, args: string[]): Promise<{ line: string; error?: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 10_000, encoding: "utf8", maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      // poppler's tools print their version on stderr (and exit 0, or 99 in old releases).
      const first = `${stdout}\n${stderr}`.split("\n").find((line) => line.trim() !== "");
      if (first && /version/i.test(first)) return resolve({ line: first.replace(/\s+Copyright.*$/i, "").trim() });
      if (error) return resolve({ line: "", error: (error as NodeJS.ErrnoException).code?.toString() ?? error.message });
      resolve({ line: first?.trim() ?? "version unknown" });
    });
  });
}
