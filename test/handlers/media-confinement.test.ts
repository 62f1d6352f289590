import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { runCli, writeConfig } from "../helpers/cli.js";
import { useTestEnvironment } from "../helpers/environment.js";
import { makeVideo } from "../helpers/media.js";

/**
 * ffmpeg and ffprobe read only the one file the job named and the roots allowed (SECURITY.md,
 * "Subprocesses"): a file whose body is a playlist or a concat list naming a video outside
 * the roots, or whose name is an image2 pattern, fails the job and nothing made from the
 * outside file appears.
 */
let config: string;
let files: string;
let out: string;
let outside: string;

const env = useTestEnvironment("oj-confine-", () => {
  files = path.join(env.dir, "files");
  out = path.join(env.dir, "out");
  outside = path.join(env.dir, "outside");
  for (const d of [files, out, outside]) fs.mkdirSync(d);
  const secret = path.join(outside, "secret.ts");
  makeVideo(secret, 3, "320x240", false); // .ts: an MPEG-TS segment, as a playlist names one
  execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1", path.join(outside, "secret.png")]);
  const playlist = (uri: string) => `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:3.0,\n${uri}\n#EXT-X-ENDLIST\n`;
  const relative = path.relative(files, secret); // ../outside/secret.ts
  for (const ext of ["mp4", "m3u8"]) {
    fs.writeFileSync(path.join(files, `relative.${ext}`), playlist(relative));
    fs.writeFileSync(path.join(files, `url.${ext}`), playlist(`file://${secret}`));
  }
  fs.writeFileSync(path.join(files, "list.mp4"), `ffconcat version 1.0\nfile '${relative}'\n`);
  // An image2 pattern: "frame%d.png" (not an image itself) would be read as frame1.png, a link out of the roots.
  fs.writeFileSync(path.join(files, "frame%d.png"), "not an image at all\n");
  fs.symlinkSync(path.join(outside, "secret.png"), path.join(files, "frame1.png"));
  config = writeConfig(env.dir, {
    database: { url: env.db.url },
    lockDir: path.join(env.dir, "locks"),
    paths: { readRoots: [files], writeRoots: [out] },
    previews: { outputDir: out },
    ffmpegPresets: { webm: { args: ["-c:v", "libvpx", "-b:v", "200k", "-an"], format: "webm" } },
    types: { create_previews: { maxAttempts: 1 }, create_alternative_file: { maxAttempts: 1 } },
  });
});

async function runJob(type: string, data: Record<string, unknown>) {
  const ref = await env.db.insertJob(type, data);
  const run = await runCli(["--job", String(ref)], { config, timeoutMs: 120_000 });
  const [row] = await env.db.query<Record<string, any>>("SELECT status, error FROM job_queue WHERE ref = ?", [ref]);
  assert.ok(row, `job ${ref} exists; runner said: ${run.stderr}`);
  return row;
}

const REFUSED = /^ffmpeg reads this file as "hls", a format that is refused/;

for (const name of ["relative.mp4", "relative.m3u8", "url.mp4", "url.m3u8"]) {
  test(`previews of a playlist named ${name} that names a video outside the roots fail, and nothing is made from that video`, async () => {
    const row = await runJob("create_previews", { source: path.join(files, name) });
    assert.equal(row.status, "failed", "the job must not succeed");
    assert.match(row.error, REFUSED);
    assert.deepEqual(fs.readdirSync(out), [], "no preview or clip was written");
  });
}

test("a concat list named .mp4 that names a video outside the roots is refused too", async () => {
  const row = await runJob("create_previews", { source: path.join(files, "list.mp4") });
  assert.equal(row.status, "failed");
  assert.match(row.error, /^(ffmpeg reads this file as "concat", a format that is refused|not an image or video ffmpeg can read)/);
  assert.deepEqual(fs.readdirSync(out), []);
});

test("a transcode preset cannot be pointed at a playlist naming a video outside the roots", async () => {
  const output = path.join(out, "stolen.webm");
  const row = await runJob("create_alternative_file", { source: path.join(files, "url.mp4"), output, preset: "webm" });
  assert.equal(row.status, "failed");
  assert.match(row.error, REFUSED);
  assert.deepEqual(fs.readdirSync(out), [], "no output or temporary left");
});

test('a file named like an image2 pattern ("frame%d.png") is read as itself, not as frame1.png beside it', async () => {
  const row = await runJob("create_previews", { source: path.join(files, "frame%d.png") });
  assert.equal(row.status, "failed", "frame1.png, a link out of the roots, must not be previewed");
  assert.equal(row.error, "not an image or video ffmpeg can read");
  assert.deepEqual(fs.readdirSync(out), []);
});
