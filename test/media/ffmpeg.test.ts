import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { PermanentError } from "../../src/errors.js";
import { extractPosterFrame, makeAudioPreview, makeVideoClip, makeWaveform } from "../../src/media/ffmpeg.js";
import { probeMedia } from "../../src/media/ffprobe.js";
import { childFfmpegs } from "../helpers/media.js";

const run = promisify(execFile);
let dir: string;
const file = (name: string) => path.join(dir, name);

async function ffmpeg(...args: string[]): Promise<void> {
  await run("/usr/bin/ffmpeg", ["-v", "error", "-nostdin", "-y", ...args]);
}

interface Probed {
  streams: { codec_type: string; codec_name: string; width?: number; height?: number; pix_fmt?: string }[];
  format: { duration: string; format_name: string };
}
async function ffprobe(f: string): Promise<Probed> {
  const { stdout } = await run("/usr/bin/ffprobe", ["-v", "error", "-print_format", "json", "-show_streams", "-show_format", f]);
  return JSON.parse(stdout) as Probed;
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(f: string): { width: number; height: number } {
  const b = fs.readFileSync(f);
  assert.equal(b.subarray(1, 4).toString("latin1"), "PNG");
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** Offsets of an MP4's top-level boxes, by type. */
function topLevelBoxes(f: string): Map<string, number> {
  const b = fs.readFileSync(f);
  const boxes = new Map<string, number>();
  for (let at = 0; at + 8 <= b.length;) {
    let size = b.readUInt32BE(at);
    const type = b.subarray(at + 4, at + 8).toString("latin1");
    if (size === 1) size = Number(b.readBigUInt64BE(at + 8));
    if (size === 0) size = b.length - at;
    if (!boxes.has(type)) boxes.set(type, at);
    if (size < 8) break;
    at += size;
  }
  return boxes;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ffmpeg-test-"));
  await Promise.all([
    ffmpeg(
      "-f",
      "lavfi",
      "-i",
      "testsrc=size=1280x720:rate=25:duration=4",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:duration=4",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-pix_fmt",
      "yuv420p",
      "-c:a",
      "aac",
      "-shortest",
      file("video.mp4"),
    ),
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:duration=3", "-c:a", "pcm_s16le", file("sound.wav")),
    // Odd size (x264 allows it in 4:4:4), no audio, Matroska.
    ffmpeg(
      "-f",
      "lavfi",
      "-i",
      "testsrc=size=321x241:rate=25:duration=2",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-pix_fmt",
      "yuv444p",
      file("silent.mkv"),
    ),
  ]);
  // 32 s of 720p for the abort test, by repeating the 4 s video without re-encoding.
  await ffmpeg("-stream_loop", "7", "-i", file("video.mp4"), "-c", "copy", file("long.mp4"));
  // Large enough for ffmpeg's "tty" demuxer to take it for ANSI art.
  fs.writeFileSync(file("notes.txt"), Array.from({ length: 5000 }, (_, i) => `line ${i}`).join("\n"));
  fs.writeFileSync(file("empty.mp4"), "");
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

test("probeMedia: a video with sound", async () => {
  const info = await probeMedia(file("video.mp4"));
  assert.equal(info.type, "video");
  assert.equal(info.mime, "video/mp4");
  assert.equal(info.width, 1280);
  assert.equal(info.height, 720);
  assert.ok(Math.abs((info.duration ?? 0) - 4) < 0.1, `duration ${info.duration}`);
  assert.equal(info.videoCodec, "h264");
  assert.equal(info.audioCodec, "aac");
  assert.equal(info.frameRate, 25);
  assert.ok(typeof info.bitRate === "number" && info.bitRate > 0);
});

test("probeMedia: WAV audio and a silent Matroska video", async () => {
  const wav = await probeMedia(file("sound.wav"));
  assert.equal(wav.type, "audio");
  assert.equal(wav.mime, "audio/wav");
  assert.equal(wav.audioCodec, "pcm_s16le");
  assert.equal(wav.width, undefined);
  assert.ok(Math.abs((wav.duration ?? 0) - 3) < 0.1);
  const mkv = await probeMedia(file("silent.mkv"));
  assert.equal(mkv.type, "video");
  assert.equal(mkv.mime, "video/x-matroska");
  assert.deepEqual([mkv.width, mkv.height, mkv.audioCodec], [321, 241, undefined]);
});

test("unreadable input: a text file and an empty file", async () => {
  for (const name of ["notes.txt", "empty.mp4"]) {
    await assert.rejects(probeMedia(file(name)), (e: unknown) => {
      assert.ok(e instanceof PermanentError, `${name}: ${String(e)}`);
      assert.equal(e.message, "not an image or video ffmpeg can read");
      return true;
    });
  }
  const options = { maxSeconds: 2, maxWidth: 640, crf: 28, audioBitrate: "96k" };
  await assert.rejects(
    makeVideoClip(file("empty.mp4"), file("e.mp4"), options, () => {}),
    { name: "PermanentError", message: "not an image or video ffmpeg can read" },
  );
  await assert.rejects(
    makeVideoClip(file("sound.wav"), file("w.mp4"), options, () => {}),
    { name: "PermanentError", message: "the file has no video track" },
  );
  assert.deepEqual(
    fs.readdirSync(dir).filter((n) => /^[ew]\.mp4/.test(n)),
    [],
    "no output or temporary left",
  );
});

test("extractPosterFrame: a full-size PNG, also when asked past the end", async () => {
  await extractPosterFrame(file("video.mp4"), 1.5, file("poster.png"));
  assert.deepEqual(pngSize(file("poster.png")), { width: 1280, height: 720 });
  await extractPosterFrame(file("video.mp4"), 60, file("late.png"));
  assert.deepEqual(pngSize(file("late.png")), { width: 1280, height: 720 });
});

test("makeVideoClip: H.264/AAC, bounded, even, faststart, progress to 100", async () => {
  const progress: number[] = [];
  const out = file("clip.mp4");
  await makeVideoClip(file("video.mp4"), out, { maxSeconds: 2, maxWidth: 640, crf: 28, audioBitrate: "96k" }, (p) => progress.push(p), undefined, 4);
  const probed = await ffprobe(out);
  const v = probed.streams.find((s) => s.codec_type === "video");
  const a = probed.streams.find((s) => s.codec_type === "audio");
  assert.equal(v?.codec_name, "h264");
  assert.equal(v?.pix_fmt, "yuv420p");
  assert.equal(a?.codec_name, "aac");
  assert.deepEqual([v?.width, v?.height], [640, 360]);
  assert.ok(Number(probed.format.duration) <= 2.1, `duration ${probed.format.duration}`);
  const boxes = topLevelBoxes(out);
  assert.ok(boxes.has("moov") && boxes.has("mdat"));
  assert.ok(boxes.get("moov")! < boxes.get("mdat")!, "moov before mdat (+faststart)");
  assert.equal(progress.at(-1), 100);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i]! > progress[i - 1]!, `monotonic: ${progress.join(",")}`);
  assert.ok(progress.every((p) => p >= 0 && p <= 100));
  assert.deepEqual(
    fs.readdirSync(dir).filter((n) => n.startsWith("clip.mp4.tmp-")),
    [],
  );
});

test("makeVideoClip: no audio track, odd size, never enlarged", async () => {
  const progress: number[] = [];
  await makeVideoClip(file("silent.mkv"), file("silent.mp4"), { maxSeconds: 10, maxWidth: 640, crf: 28, audioBitrate: "96k" }, (p) => progress.push(p));
  const probed = await ffprobe(file("silent.mp4"));
  assert.deepEqual(
    probed.streams.map((s) => s.codec_type),
    ["video"],
  );
  const v = probed.streams[0]!;
  assert.deepEqual([v.width, v.height], [320, 240]);
  assert.ok(Math.abs(Number(probed.format.duration) - 2) < 0.1);
  assert.equal(progress.at(-1), 100);
});

test("makeAudioPreview and makeWaveform", async () => {
  const progress: number[] = [];
  await makeAudioPreview(file("sound.wav"), file("sound.mp3"), { bitrate: "128k", maxSeconds: 2 }, (p) => progress.push(p), undefined, 3);
  const probed = await ffprobe(file("sound.mp3"));
  assert.equal(probed.format.format_name, "mp3");
  assert.deepEqual(
    probed.streams.map((s) => s.codec_name),
    ["mp3"],
  );
  assert.ok(Math.abs(Number(probed.format.duration) - 2) <= 0.1, `duration ${probed.format.duration}`);
  assert.equal(progress.at(-1), 100);
  await makeWaveform(file("sound.wav"), file("wave.png"), { width: 400, height: 80 });
  assert.deepEqual(pngSize(file("wave.png")), { width: 400, height: 80 });
  await assert.rejects(makeWaveform(file("silent.mkv"), file("none.png"), { width: 400, height: 80 }), {
    name: "PermanentError",
    message: "the file has no audio track",
  });
});

test("aborting makeVideoClip kills ffmpeg and leaves nothing behind", async () => {
  const controller = new AbortController();
  const reason = new Error("cancelled by test");
  let abortedAt = 0;
  let runningWhenAborted: number[] = [];
  let temporariesWhenAborted: string[] = [];
  const out = file("abort.mp4");
  const started = Date.now();
  await assert.rejects(
    makeVideoClip(
      file("long.mp4"),
      out,
      { maxSeconds: 30, maxWidth: 640, crf: 28, audioBitrate: "96k" },
      (p) => {
        if (abortedAt || p >= 100) return;
        runningWhenAborted = childFfmpegs().map((p) => p.pid);
        temporariesWhenAborted = fs.readdirSync(dir).filter((n) => n.startsWith("abort.mp4.tmp-") && n.endsWith(".mp4"));
        abortedAt = Date.now();
        controller.abort(reason);
      },
      controller.signal,
      32,
    ),
    (e: unknown) => e === reason,
  );
  const tookMs = Date.now() - abortedAt;
  assert.ok(abortedAt > 0, "a progress event came");
  assert.equal(runningWhenAborted.length, 1, "ffmpeg was running when aborted");
  assert.equal(temporariesWhenAborted.length, 1, "it was writing a temporary beside the output");
  assert.ok(tookMs < 1000, `rejected ${tookMs} ms after the abort`);
  assert.ok(Date.now() - started < 10_000);
  assert.deepEqual(
    childFfmpegs().map((p) => p.pid),
    [],
    "no ffmpeg left",
  );
  assert.deepEqual(
    fs.readdirSync(dir).filter((n) => n.startsWith("abort.mp4")),
    [],
    "no output or temporary left",
  );

  // Aborted before it starts: rejects with the reason, runs nothing.
  await assert.rejects(
    makeVideoClip(file("video.mp4"), out, { maxSeconds: 2, maxWidth: 640, crf: 28, audioBitrate: "96k" }, () => {}, AbortSignal.abort(reason), 4),
    (e: unknown) => e === reason,
  );
  assert.equal(fs.existsSync(out), false);
});
