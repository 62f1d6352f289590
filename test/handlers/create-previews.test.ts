import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { runCli, writeConfig } from "../helpers/cli.js";
import { useTestEnvironment } from "../helpers/environment.js";
import { ffprobe, makePdf, makeVideo, makeWav } from "../helpers/media.js";

let config: string;
let files: string;
let out: string;

const env = useTestEnvironment("oj-previews-", async () => {
  files = path.join(env.dir, "files");
  out = path.join(env.dir, "previews");
  fs.mkdirSync(files);
  await sharp({ create: { width: 2000, height: 1500, channels: 3, background: "#3366aa" } })
    .jpeg()
    .toFile(path.join(files, "photo.jpg"));
  fs.copyFileSync(path.join(files, "photo.jpg"), path.join(files, "really-a-photo.pdf"));
  const jpeg = fs.readFileSync(path.join(files, "photo.jpg"));
  fs.writeFileSync(path.join(files, "truncated.jpg"), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  fs.writeFileSync(path.join(files, "empty.jpg"), "");
  fs.writeFileSync(path.join(files, "notes.txt"), "just some text, not media\n");
  makeVideo(path.join(files, "clip.mp4"), 3);
  makeWav(path.join(files, "tone.wav"), 2);
  makePdf(path.join(files, "letter.pdf"), ["Page one", "Page two"]);
  config = writeConfig(env.dir, {
    database: { url: env.db.url },
    lockDir: path.join(env.dir, "locks"),
    paths: { readRoots: [files], writeRoots: [out] },
    previews: { outputDir: out },
    types: { create_previews: { maxAttempts: 1 } },
  });
});

async function preview(data: Record<string, unknown>) {
  const ref = await env.db.insertJob("create_previews", data);
  const run = await runCli(["--job", String(ref)], { config, timeoutMs: 120_000 });
  const [row] = await env.db.query<Record<string, any>>("SELECT status, error, result, progress FROM job_queue WHERE ref = ?", [ref]);
  return { run, row: row!, result: row!.result ? JSON.parse(row!.result) : null };
}

const bySize = (previews: Array<Record<string, any>>): Record<string, any> => Object.fromEntries(previews.map((p) => [p.size, p]));

test("an image gets thm, pre and scr previews, fitted inside each box and named by the pattern", async () => {
  const { row, result } = await preview({ source: path.join(files, "photo.jpg") });
  assert.equal(row.status, "complete", row.error);
  const sizes = bySize(result.previews);
  assert.deepEqual(Object.keys(sizes).sort(), ["pre", "scr", "thm"]);
  assert.deepEqual([sizes.thm.width, sizes.thm.height, sizes.pre.width, sizes.scr.width], [150, 113, 850, 1400]);
  assert.equal(sizes.thm.path, path.join(fs.realpathSync(out), "photo_thm.jpg"));
  const meta = await sharp(sizes.scr.path).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ["jpeg", 1400, 1050]);
  assert.equal(sizes.scr.bytes, fs.statSync(sizes.scr.path).size);
  assert.equal(result.media.type, "image");
  assert.equal(result.media.mime, "image/jpeg");
});

test("only the sizes asked for are made; an unknown size name fails clearly", async () => {
  const { result } = await preview({ source: path.join(files, "photo.jpg"), sizes: ["thm"] });
  assert.deepEqual(
    result.previews.map((p: { size: string }) => p.size),
    ["thm"],
  );
  const bad = await preview({ source: path.join(files, "photo.jpg"), sizes: ["huge"] });
  assert.equal(bad.row.status, "failed");
  assert.equal(bad.row.error, 'unknown preview size "huge": the config defines thm, pre, scr');
});

test("a video gets poster-frame previews and an H.264/AAC MP4 clip with faststart", async () => {
  const { row, result } = await preview({ source: path.join(files, "clip.mp4") });
  assert.equal(row.status, "complete", row.error);
  assert.equal(row.progress, 100);
  const sizes = bySize(result.previews);
  assert.equal(sizes.thm.width, 150);
  assert.equal(sizes.video.mime, "video/mp4");
  const probe = ffprobe(sizes.video.path);
  assert.deepEqual(probe.streams.map((s) => s.codec_name).sort(), ["aac", "h264"]);
  const bytes = fs.readFileSync(sizes.video.path);
  assert.ok(bytes.indexOf("moov") < bytes.indexOf("mdat"), "the moov atom comes first (+faststart)");
  assert.equal(result.media.type, "video");
  assert.ok(Math.abs(result.media.duration - 3) < 0.2, `duration ${result.media.duration}`);
  assert.deepEqual([result.media.width, result.media.height], [640, 360]);
});

test("audio gets an MP3 preview and a waveform image", async () => {
  const { row, result } = await preview({ source: path.join(files, "tone.wav") });
  assert.equal(row.status, "complete", row.error);
  const sizes = bySize(result.previews);
  assert.equal(sizes.audio.mime, "audio/mpeg");
  assert.equal(ffprobe(sizes.audio.path).streams[0]!.codec_name, "mp3");
  assert.equal((await sharp(sizes.waveform.path).metadata()).width, 1200);
  assert.equal(result.media.type, "audio");
});

test("a PDF gets previews of its first page, and its page count", async () => {
  const { row, result } = await preview({ source: path.join(files, "letter.pdf") });
  assert.equal(row.status, "complete", row.error);
  assert.equal(result.media.pages, 2);
  const scr = bySize(result.previews).scr;
  assert.equal(Math.max(scr.width, scr.height), 1400, "page 1 rendered to the largest box");
  assert.deepEqual(
    fs.readdirSync(out).filter((f) => f.startsWith(".")),
    [],
    "no temporary page image left",
  );
});

test("the real type comes from the content: a JPEG named .pdf is previewed as an image", async () => {
  const { row, result } = await preview({ source: path.join(files, "really-a-photo.pdf") });
  assert.equal(row.status, "complete", row.error);
  assert.equal(result.media.mime, "image/jpeg");
});

test("bad sources fail permanently with a clear sentence and leave nothing behind", async () => {
  const cases: Array<[string, RegExp]> = [
    ["truncated.jpg", /^truncated JPEG$/],
    ["empty.jpg", /^empty file$/],
    ["notes.txt", /^not an image or video ffmpeg can read$/],
    ["missing.jpg", /^source file not found: /],
  ];
  for (const [name, expected] of cases) {
    const { row } = await preview({ source: path.join(files, name) });
    assert.equal(row.status, "failed", `${name} should fail`);
    assert.match(row.error, expected, `${name}: ${row.error}`);
  }
  const outside = await preview({ source: "/etc/hostname" });
  assert.equal(outside.row.error, 'the source "/etc/hostname" is outside the allowed roots');
  const escape = await preview({ source: path.join(files, "photo.jpg"), outputDir: "/tmp" });
  assert.equal(escape.row.error, 'the output "/tmp" is outside the allowed roots');
  assert.deepEqual(
    fs.readdirSync(out).filter((f) => f.includes(".tmp")),
    [],
    "no temporary output left",
  );
});
