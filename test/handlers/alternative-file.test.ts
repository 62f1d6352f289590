import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { runCli, writeConfig } from "../helpers/cli.js";
import { useTestEnvironment } from "../helpers/environment.js";
import { ffprobe, makeWav } from "../helpers/media.js";

let config: string;
let inbox: string;
let out: string;

const env = useTestEnvironment("oj-alternative-", async () => {
  inbox = path.join(env.dir, "in");
  out = path.join(env.dir, "out");
  fs.mkdirSync(inbox);
  fs.writeFileSync(path.join(inbox, "report.csv"), "id,name\n1,Ann\n");
  makeWav(path.join(inbox, "tone.wav"), 2);
  // A 1200×800 PNG whose left half is transparent.
  const half = Buffer.alloc(1200 * 800 * 4);
  for (let i = 0; i < 1200 * 800; i++) if (i % 1200 >= 600) half.writeUInt32BE(0x2060a0ff, i * 4);
  await sharp(half, { raw: { width: 1200, height: 800, channels: 4 } })
    .png()
    .toFile(path.join(inbox, "logo.png"));
  config = writeConfig(env.dir, {
    database: { url: env.db.url },
    lockDir: path.join(env.dir, "locks"),
    paths: { readRoots: [inbox], writeRoots: [out] },
    previews: { background: "#ff0000" },
    types: { create_alternative_file: { maxAttempts: 1 } },
    commands: { convert: { argv: ["cp", "{source}", "{output}"], usableBy: ["create_alternative_file"] } },
    ffmpegPresets: { "ogg-voice": { args: ["-map", "0:a:0", "-c:a", "libvorbis", "-b:a", "64k"], format: "ogg", needs: "audio" } },
  });
});

async function runJob(data: unknown) {
  const ref = await env.db.insertJob("create_alternative_file", data);
  await runCli(["--job", String(ref)], { config });
  const [row] = await env.db.query<Record<string, any>>("SELECT * FROM job_queue WHERE ref = ?", [ref]);
  return { row: row!, result: row!.result ? JSON.parse(row!.result) : null };
}

test("a built-in transform converts format and size, flattening transparency for JPEG", async () => {
  const output = path.join(out, "logo-small.jpg");
  const { row, result } = await runJob({ source: path.join(inbox, "logo.png"), output, transform: { format: "jpeg", width: 300, quality: 80 } });
  assert.equal(row.status, "complete", row.error);
  assert.deepEqual([result.path, result.mime, result.bytes], [output, "image/jpeg", fs.statSync(output).size]);
  const { data, info } = await sharp(output).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [300, 200, 3]);
  const [r, g, b] = data.subarray(0, 3);
  assert.ok(r! > 240 && g! < 20 && b! < 20, `the transparent corner is flattened onto the configured red, got ${r},${g},${b}`);
});

test("a transform to WebP keeps transparency and never enlarges", async () => {
  const output = path.join(out, "logo.webp");
  const { row } = await runJob({ source: path.join(inbox, "logo.png"), output, transform: { format: "webp", width: 5000 } });
  assert.equal(row.status, "complete", row.error);
  const meta = await sharp(output).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height, meta.hasAlpha], ["webp", 1200, 800, true]);
});

test("job_data must give either a transform or a command", async () => {
  const { row } = await runJob({ source: path.join(inbox, "logo.png"), output: path.join(out, "x.png") });
  assert.equal(row.status, "failed");
  assert.match(row.error, /give one of transform, command or preset/);
});

test("a preset from the config transcodes audio or video through ffmpeg", async () => {
  const output = path.join(out, "tone.ogg");
  const { row, result } = await runJob({ source: path.join(inbox, "tone.wav"), output, preset: "ogg-voice" });
  assert.equal(row.status, "complete", row.error);
  assert.equal(result.path, output);
  const probe = ffprobe(output);
  assert.equal(probe.streams[0]!.codec_name, "vorbis");
  assert.ok(Math.abs(Number(probe.format.duration) - 2) < 0.2, `duration ${probe.format.duration}`);
  const unknown = await runJob({ source: path.join(inbox, "tone.wav"), output: path.join(out, "x.ogg"), preset: "flac-hifi" });
  assert.equal(unknown.row.error, 'unknown ffmpeg preset "flac-hifi": the config defines ogg-voice');
  const notMedia = await runJob({ source: path.join(inbox, "report.csv"), output: path.join(out, "y.ogg"), preset: "ogg-voice" });
  assert.equal(notMedia.row.error, "not an image or video ffmpeg can read");
});

test("a command template writes the output through a temporary name", async () => {
  const output = path.join(env.dir, "out", "alt", "report-copy.csv");
  const { row, result } = await runJob({ source: path.join(inbox, "report.csv"), output, command: "convert" });
  assert.equal(row.status, "complete", row.error);
  assert.deepEqual({ path: result.path, bytes: result.bytes }, { path: output, bytes: 14 });
  assert.deepEqual(fs.readdirSync(path.dirname(output)), ["report-copy.csv"]);
});

test("it refuses an output outside the write roots and a missing source", async () => {
  const outside = await runJob({ source: path.join(inbox, "report.csv"), output: "/tmp/elsewhere.csv", command: "convert" });
  assert.equal(outside.row.status, "failed");
  assert.equal(outside.row.error, 'the output "/tmp/elsewhere.csv" is outside the allowed roots');
  const missing = await runJob({ source: path.join(inbox, "nope.csv"), output: path.join(env.dir, "out", "x.csv"), command: "convert" });
  assert.equal(missing.row.status, "failed");
  assert.equal(missing.row.error, `source file not found: ${path.join(fs.realpathSync(inbox), "nope.csv")}`);
});
