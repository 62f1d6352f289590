/**
 * Preview benchmark, images (docs/benchmarks.md, "Media, zip and text extraction"): thm + pre + scr from a 24-megapixel photographic-like
 * JPEG (~16 MB of noise at quality 95) through makeImagePreviews, beside ImageMagick's
 * `convert` run once per size the way ResourceSpace makes previews
 * (`-auto-orient -resize WxH> -colorspace sRGB -strip -quality 85`), in the same run.
 * Target: ≥ 5× faster than ImageMagick with ≤ 0.6× its peak memory. Prints figures; exits 1
 * only if something broke (not when a target is missed).
 *
 *   tsc -p . && node dist/bench/previews.js [--repeat N (default 5)]
 *
 * Times are medians of N. Peak memory is the peak resident set (max RSS, from
 * `/usr/bin/time -f %M`, or VmHWM from /proc when that is missing) of a process doing one set
 * of previews: a fresh `node` running this file with --child for offline-jobs (its figure
 * includes Node itself, ~40 MB), and the largest of the three `convert` processes.
 * Always /usr/bin/convert: some machines have another `convert` earlier on the PATH.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { makeImagePreviews } from "../src/media/image.js";
import type { ImageOutputOptions, PreviewSize } from "../src/media/types.js";
import { median } from "./stats.js";

const CONVERT = "/usr/bin/convert";
const TIME = "/usr/bin/time";
const SIZES: PreviewSize[] = [
  { name: "thm", width: 150, height: 150 },
  { name: "pre", width: 850, height: 850 },
  { name: "scr", width: 1400, height: 1400 },
];
const OPTIONS: ImageOutputOptions = { format: "jpeg", quality: 85, background: "#ffffff", pixelLimit: 268e6 };
const TARGET_SPEEDUP = 5;
const TARGET_MEMORY = 0.6;

const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const previewsInto = (source: string, out: string) => makeImagePreviews(source, SIZES, OPTIONS, (size, ext) => path.join(out, `sharp_${size.name}.${ext}`));

interface Measured {
  ms: number;
  peakMb: number;
  cpuS: number;
  code: number | null;
  stderr: string;
}

/** Runs a command to its end: wall time, peak RSS, CPU seconds (user + system). */
function measure(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  const useTime = fs.existsSync(TIME);
  const marker = "@@bench@@";
  const full = useTime ? [TIME, "-f", `${marker} %M %U %S`, ...argv] : argv;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(full[0]!, full.slice(1), { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let hwmKb = 0;
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // Without /usr/bin/time: VmHWM (the peak RSS so far) until the process goes away.
    const poll = useTime
      ? undefined
      : setInterval(() => {
          try {
            hwmKb = Math.max(hwmKb, Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0));
          } catch {
            // gone already
          }
        }, 2);
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - started;
      if (poll) clearInterval(poll);
      const line = stderr.split("\n").find((l) => l.startsWith(marker));
      const [, kb = "NaN", user = "NaN", system = "NaN"] = line?.split(" ") ?? [];
      resolve({
        ms,
        peakMb: (useTime ? Number(kb) : hwmKb) / 1024,
        cpuS: Number(user) + Number(system),
        code: useTime && /Command exited with non-zero status (\d+)/.exec(stderr) ? Number(/status (\d+)/.exec(stderr)![1]) : code,
        stderr: stderr
          .split("\n")
          .filter((l) => !l.startsWith(marker) && !l.startsWith("Command exited"))
          .join("\n")
          .trim(),
      });
    });
  });
}

/** --child SOURCE OUT: one set of previews in a fresh process, for its peak memory. */
async function child(source: string, out: string): Promise<void> {
  const started = performance.now();
  const { previews } = await previewsInto(source, out);
  const ms = performance.now() - started;
  process.stdout.write(`${JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, previews: previews.length })}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { repeat: { type: "string", default: "5" }, child: { type: "boolean" } }, allowPositionals: true, strict: false });
  if (values.child) {
    const [source, out] = process.argv.slice(process.argv.indexOf("--child") + 1);
    return child(source!, out!);
  }
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error("--repeat: must be a whole number >= 1");
  if (!fs.existsSync(CONVERT)) throw new Error(`${CONVERT} is missing: install ImageMagick (apt-get install imagemagick)`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oj-bench-previews-"));
  try {
    const source = path.join(dir, "photo-24mp.jpg");
    progress("writing a 6000×4000 noisy JPEG at quality 95…");
    await sharp({ create: { width: 6000, height: 4000, channels: 3, background: "#808080", noise: { type: "gaussian", mean: 128, sigma: 20 } } })
      .jpeg({ quality: 95 })
      .toFile(source);
    const sourceMb = fs.statSync(source).size / 1e6;
    if (sourceMb < 10 || sourceMb > 20) progress(`warning: the source is ${sourceMb.toFixed(1)} MB, outside the intended 10–20 MB`);

    // offline-jobs, in this process (as in a running worker: sharp already loaded). One warm-up.
    const out = path.join(dir, "sharp");
    fs.mkdirSync(out);
    await previewsInto(source, out);
    const ours: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const started = performance.now();
      await previewsInto(source, out);
      ours.push(performance.now() - started);
    }
    const ourDims = await Promise.all(
      SIZES.map(async (s) => (await sharp(path.join(out, `sharp_${s.name}.jpg`)).metadata()) as { width: number; height: number }),
    );

    // offline-jobs in fresh processes: peak memory (and the cold time, Node start and sharp load included).
    const script = fileURLToPath(import.meta.url);
    const cold: Measured[] = [];
    for (let i = 0; i < repeat; i++) {
      const run = await measure([process.execPath, script, "--child", source, out]);
      if (run.code !== 0) throw new Error(`the --child run failed (exit ${run.code}): ${run.stderr}`);
      cold.push(run);
    }

    // ImageMagick, once per size, sequentially; the same warm-up.
    let env: NodeJS.ProcessEnv = process.env;
    let limits: string[] = [];
    let note = "";
    const magick = async (size: PreviewSize) =>
      measure(
        [
          CONVERT,
          ...limits,
          source,
          "-auto-orient",
          "-resize",
          `${size.width}x${size.height}>`,
          "-colorspace",
          "sRGB",
          "-strip",
          "-quality",
          "85",
          path.join(dir, `magick_${size.name}.jpg`),
        ],
        env,
      );
    const first = await magick(SIZES[2]!);
    if (first.code !== 0) {
      if (!/policy|resource|exceeds limit|cache/i.test(first.stderr)) throw new Error(`convert failed: ${first.stderr}`);
      // Debian's policy.xml caps width/height/area/memory; -limit cannot go past the policy, so
      // point ImageMagick at a permissive policy for this benchmark only.
      const policyDir = path.join(dir, "magick-policy");
      fs.mkdirSync(policyDir);
      fs.writeFileSync(
        path.join(policyDir, "policy.xml"),
        `<policymap>\n${["memory 4GiB", "map 8GiB", "width 64KP", "height 64KP", "area 4GP", "disk 16GiB"].map((l) => `  <policy domain="resource" name="${l.split(" ")[0]}" value="${l.split(" ")[1]}"/>`).join("\n")}\n</policymap>\n`,
      );
      env = { ...process.env, MAGICK_CONFIGURE_PATH: policyDir };
      limits = ["-limit", "memory", "4GiB", "-limit", "map", "8GiB", "-limit", "area", "4GP", "-limit", "width", "64KP", "-limit", "height", "64KP"];
      note = `convert refused the image under its resource limits (${first.stderr.split("\n")[0]}); it ran with raised limits (MAGICK_CONFIGURE_PATH + -limit), for this benchmark only`;
      const again = await magick(SIZES[2]!);
      if (again.code !== 0) throw new Error(`convert failed even with raised limits: ${again.stderr}`);
    }
    const theirs: { ms: number; peakMb: number; cpuS: number }[] = [];
    for (let i = 0; i < repeat; i++) {
      const runs: Measured[] = [];
      for (const size of SIZES) {
        const run = await magick(size);
        if (run.code !== 0) throw new Error(`convert failed for ${size.name}: ${run.stderr}`);
        runs.push(run);
      }
      theirs.push({ ms: runs.reduce((t, r) => t + r.ms, 0), peakMb: Math.max(...runs.map((r) => r.peakMb)), cpuS: runs.reduce((t, r) => t + r.cpuS, 0) });
    }
    const theirDims = await Promise.all(
      SIZES.map(async (s) => (await sharp(path.join(dir, `magick_${s.name}.jpg`)).metadata()) as { width: number; height: number }),
    );

    const ourMs = median(ours);
    const ourColdMs = median(cold.map((r) => r.ms));
    const ourPeak = median(cold.map((r) => r.peakMb));
    const ourCpu = median(cold.map((r) => r.cpuS));
    const imMs = median(theirs.map((r) => r.ms));
    const imPeak = median(theirs.map((r) => r.peakMb));
    const imCpu = median(theirs.map((r) => r.cpuS));
    const speedup = imMs / ourMs;
    const memory = ourPeak / imPeak;
    const n = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");
    const dims = (d: { width: number; height: number }[]) => d.map((x) => `${x.width}×${x.height}`).join(", ");
    const row = (cells: string[]) =>
      `${cells[0]!.padEnd(44)}${cells
        .slice(1)
        .map((c) => c.padStart(11))
        .join("")}`;

    console.log(`\nPreviews thm+pre+scr from a 6000×4000 JPEG (${sourceMb.toFixed(1)} MB, quality 95), ${os.cpus().length} CPUs, median of ${repeat}`);
    console.log(row(["", "time ms", "peak MB", "CPU s"]));
    console.log(row(["offline-jobs (sharp), in a running worker", ourMs.toFixed(0), "", ""]));
    console.log(row(["offline-jobs, fresh process (node+sharp load)", ourColdMs.toFixed(0), ourPeak.toFixed(0), n(ourCpu, 2)]));
    console.log(row(["ImageMagick convert ×3 (ResourceSpace way)", imMs.toFixed(0), imPeak.toFixed(0), n(imCpu, 2)]));
    console.log(row(["ImageMagick ÷ offline-jobs, time (worker)", `${speedup.toFixed(1)}×`, "", ""]));
    console.log(row(["ImageMagick ÷ offline-jobs, time (fresh)", `${(imMs / ourColdMs).toFixed(1)}×`, "", `${n(imCpu / ourCpu, 1)}×`]));
    console.log(row(["offline-jobs ÷ ImageMagick, peak memory", "", `${memory.toFixed(2)}×`, ""]));
    console.log(`\nsizes: offline-jobs ${dims(ourDims)}; ImageMagick ${dims(theirDims)}`);
    console.log(
      `target ≥ ${TARGET_SPEEDUP}× faster: ${speedup >= TARGET_SPEEDUP ? "met" : "MISSED"} (${speedup.toFixed(1)}×); target ≤ ${TARGET_MEMORY}× peak memory: ${memory <= TARGET_MEMORY ? "met" : "MISSED"} (${memory.toFixed(2)}×)`,
    );
    console.log(
      `ImageMagick: ${fs.existsSync(TIME) ? "peak from /usr/bin/time %M" : "peak from /proc VmHWM polling"}; ${note || "ran under the system policy.xml unchanged"}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
