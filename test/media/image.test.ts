import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { PermanentError } from "../../src/errors.js";
import { detectType } from "../../src/media/detect.js";
import { imageInfo, makeImagePreviews } from "../../src/media/image.js";
import type { ImageOutputOptions, PreviewSize } from "../../src/media/types.js";

/** Every source is generated here with sharp (or by hand, for what sharp cannot write). */
let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "oj-image-"));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const SIZES: PreviewSize[] = [
  { name: "thm", width: 150, height: 150 },
  { name: "pre", width: 850, height: 850 },
  { name: "scr", width: 1400, height: 1400 },
];
const JPEG: ImageOutputOptions = { format: "jpeg", quality: 85, background: "#336699", pixelLimit: 268e6 };
type Rgb = { r: number; g: number; b: number };
const RED = { r: 255, g: 0, b: 0 };
const BLUE = { r: 0, g: 0, b: 255 };

const solid = (width: number, height: number, background: Rgb | (Rgb & { alpha: number }), channels: 3 | 4 = 3) =>
  sharp({ create: { width, height, channels, background } });
const noisy = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: "#808080", noise: { type: "gaussian", mean: 128, sigma: 30 } } });

async function source(name: string, image: sharp.Sharp | Buffer): Promise<string> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.isBuffer(image) ? image : await image.toBuffer());
  return file;
}

/** Runs the previews into a fresh folder of their own. */
async function previews(file: string, sizes = SIZES, options = JPEG, signal?: AbortSignal) {
  const out = fs.mkdtempSync(path.join(dir, "out-"));
  const result = await makeImagePreviews(file, sizes, options, (size, ext) => path.join(out, `${path.parse(file).name}_${size.name}.${ext}`), signal);
  return { out, ...result };
}

/** Expected fit-inside dimensions, computed independently of the module. */
function fit(width: number, height: number, box: number): [number, number] {
  const scale = Math.min(1, box / width, box / height);
  return [Math.round(width * scale), Math.round(height * scale)];
}

async function pixel(file: string, x: number, y: number): Promise<number[]> {
  return [...(await sharp(file).extract({ left: x, top: y, width: 1, height: 1 }).raw().toBuffer())];
}

function near(actual: number[], expected: Rgb, tolerance: number, what: string): void {
  const want = [expected.r, expected.g, expected.b];
  const ok = want.every((v, i) => Math.abs((actual[i] ?? -999) - v) <= tolerance);
  assert.ok(ok, `${what}: pixel ${JSON.stringify(actual.slice(0, 3))}, expected ${JSON.stringify(want)} ±${tolerance}`);
}

/** Fails unless the promise rejects with a PermanentError with exactly this message (or matching). */
async function rejectsWith(promise: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PermanentError, `expected a PermanentError, got ${String(error)}`);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

/** Nothing may be left behind by a failed run: no temporaries, no finals. */
function assertEmpty(folder: string, what: string): void {
  const files = fs.readdirSync(folder);
  assert.deepEqual(files, [], `${what} left files behind: ${files.join(", ")}`);
  assert.ok(!fs.readdirSync(dir, { recursive: true }).some((f) => String(f).includes(".tmp-")), `${what} left a *.tmp-* file`);
}

/** A failing run into a fresh folder: checks the error and that the folder stays empty. */
async function failing(file: string, message: string | RegExp, options = JPEG): Promise<void> {
  const out = fs.mkdtempSync(path.join(dir, "fail-"));
  await rejectsWith(
    makeImagePreviews(file, SIZES, options, (size, ext) => path.join(out, `x_${size.name}.${ext}`)),
    message,
  );
  assertEmpty(out, `a failed run (${path.basename(file)})`);
}

/** A baseline RGB TIFF, uncompressed, 16 bits per sample (sharp's prebuilt TIFF writer is 8-bit only). */
function tiff16(width: number, height: number, rgb: [number, number, number]): Buffer {
  const entries: [number, number, number, number][] = [
    // tag, type (3 SHORT, 4 LONG), count, value or offset
    [256, 4, 1, width],
    [257, 4, 1, height],
    [258, 3, 3, 134],
    [259, 3, 1, 1],
    [262, 3, 1, 2],
    [273, 4, 1, 140],
    [277, 3, 1, 3],
    [278, 4, 1, height],
    [279, 4, 1, width * height * 6],
    [284, 3, 1, 1],
  ];
  const file = Buffer.alloc(140 + width * height * 6);
  file.write("II", 0, "latin1");
  file.writeUInt16LE(42, 2);
  file.writeUInt32LE(8, 4);
  file.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, count, value], i) => {
    const at = 10 + i * 12;
    file.writeUInt16LE(tag, at);
    file.writeUInt16LE(type, at + 2);
    file.writeUInt32LE(count, at + 4);
    if (type === 3 && count === 1) file.writeUInt16LE(value, at + 8);
    else file.writeUInt32LE(value, at + 8);
  }); // next-IFD offset (0) at 130, bits per sample at 134
  for (let i = 0; i < 3; i++) file.writeUInt16LE(16, 134 + i * 2);
  for (let p = 140; p < file.length; p += 6) rgb.forEach((v, i) => file.writeUInt16LE(v, p + i * 2));
  return file;
}

function crc32(data: Buffer): number {
  if (typeof zlib.crc32 === "function") return zlib.crc32(data);
  let crc = ~0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

test("2000×1500 → thm, pre, scr fit inside exactly, JPEG, metadata stripped", async () => {
  const file = await source(
    "photo.jpg",
    noisy(2000, 1500)
      .withExif({ IFD0: { Copyright: "secret" } })
      .jpeg(),
  );
  assert.ok((await sharp(file).metadata()).exif, "the source should carry EXIF for this test to mean anything");
  const { previews: list, media } = await previews(file);
  assert.deepEqual(
    list.map((p) => [p.size, p.width, p.height]),
    [
      ["thm", ...fit(2000, 1500, 150)],
      ["pre", ...fit(2000, 1500, 850)],
      ["scr", ...fit(2000, 1500, 1400)],
    ],
  );
  assert.deepEqual(fit(2000, 1500, 150), [150, 113]);
  for (const p of list) {
    const meta = await sharp(p.path).metadata();
    assert.equal(p.mime, "image/jpeg");
    assert.ok(p.path.endsWith(`_${p.size}.jpg`), `odd name ${p.path}`);
    assert.equal(p.bytes, fs.statSync(p.path).size, `${p.size}: bytes does not match the file`);
    assert.deepEqual([meta.format, meta.width, meta.height], ["jpeg", p.width, p.height], `${p.size}: the file is not what the result says`);
    assert.equal(meta.exif, undefined, `${p.size}: EXIF was not stripped`);
    assert.equal(meta.icc, undefined, `${p.size}: an ICC profile was left in`);
  }
  assert.deepEqual(
    { type: media.type, mime: media.mime, width: media.width, height: media.height, pages: media.pages, space: media.space, format: media.format },
    { type: "image", mime: "image/jpeg", width: 2000, height: 1500, pages: 1, space: "srgb", format: "jpeg" },
  );
  assert.deepEqual(await imageInfo(file, 268e6), media, "imageInfo should report what the previews reported");
});

test("a 100×80 source is never enlarged", async () => {
  const { previews: list } = await previews(await source("small.png", noisy(100, 80).png()));
  assert.deepEqual(
    list.map((p) => [p.width, p.height]),
    [
      [100, 80],
      [100, 80],
      [100, 80],
    ],
  );
});

test("EXIF orientation 6: landscape pixels come out portrait, the left edge on top", async () => {
  const image = solid(300, 200, BLUE).composite([{ input: await solid(150, 200, RED).png().toBuffer(), left: 0, top: 0 }]);
  const file = await source("rotated.jpg", await image.jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer());
  const { previews: list, media } = await previews(file);
  assert.deepEqual([media.width, media.height, media.orientation], [200, 300, 6], "media should give the oriented size");
  const thm = list[0]!;
  assert.deepEqual([thm.width, thm.height], [100, 150], "thm should be portrait");
  near(await pixel(thm.path, 50, 10), RED, 40, "top of the rotated preview");
  near(await pixel(thm.path, 50, 140), BLUE, 40, "bottom of the rotated preview");
  assert.equal((await sharp(thm.path).metadata()).orientation, undefined, "the orientation tag must not be kept");
});

test("CMYK JPEG → sRGB, 3 channels", async () => {
  const file = await source("cmyk.jpg", solid(400, 300, { r: 200, g: 60, b: 40 }).toColourspace("cmyk").jpeg({ quality: 95 }));
  const { previews: list, media } = await previews(file);
  assert.equal(media.space, "cmyk");
  const meta = await sharp(list[0]!.path).metadata();
  assert.deepEqual([meta.space, meta.channels], ["srgb", 3], "output should be 3-channel sRGB");
  near(await pixel(list[0]!.path, 10, 10), { r: 200, g: 60, b: 40 }, 25, "CMYK converted through a profile");
});

test("an embedded ICC profile (Display P3) is converted to sRGB", async () => {
  const file = await source("p3.png", solid(400, 300, { r: 200, g: 60, b: 40 }).withIccProfile("p3").png());
  assert.ok((await sharp(file).metadata()).hasProfile, "the source should carry a P3 profile");
  const { previews: list } = await previews(file);
  // Without the conversion the P3 numbers (≈185, 71, 50) would come out.
  near(await pixel(list[0]!.path, 10, 10), { r: 200, g: 60, b: 40 }, 4, "P3 → sRGB");
});

test("16-bit TIFF → 8-bit sRGB previews", async () => {
  const file = await source("deep.tif", tiff16(400, 300, [65535, 32768, 0]));
  const { previews: list, media } = await previews(file);
  assert.equal(media.depth, "ushort", "the source should read as 16-bit");
  assert.deepEqual([list[0]!.width, list[0]!.height], [150, 113]);
  near(await pixel(list[0]!.path, 10, 10), { r: 255, g: 128, b: 0 }, 3, "16-bit values scaled to 8-bit");
});

test("multi-page TIFF and animated GIF → the first page / frame", async () => {
  const frames = [await solid(300, 200, RED).png().toBuffer(), await solid(300, 200, BLUE).png().toBuffer()];
  for (const [name, image] of [
    ["pages.tif", sharp(frames, { join: { animated: true } }).tiff()],
    ["anim.gif", sharp(frames, { join: { animated: true } }).gif()],
  ] as const) {
    const { previews: list, media } = await previews(await source(name, image));
    assert.equal(media.pages, 2, `${name}: pages`);
    assert.deepEqual([list[0]!.width, list[0]!.height], [150, 100], `${name}: one page's size, not the stack's`);
    near(await pixel(list[0]!.path, 75, 50), RED, 30, `${name}: first page`);
  }
});

test("GIF, WebP and AVIF sources", async () => {
  for (const [ext, mime] of [
    ["gif", "image/gif"],
    ["webp", "image/webp"],
    ["avif", "image/avif"],
  ] as const) {
    const file = await source(`src.${ext}`, noisy(400, 300).toFormat(ext));
    const { previews: list, media } = await previews(file);
    assert.equal(media.mime, mime, `${ext}: media.mime`);
    assert.deepEqual(
      list.map((p) => [p.width, p.height]),
      [
        [150, 113],
        [400, 300],
        [400, 300],
      ],
      `${ext}: sizes`,
    );
  }
});

test("PNG with alpha: flattened onto the background for JPEG, kept for PNG, WebP and AVIF output", async () => {
  const image = solid(200, 200, { r: 0, g: 0, b: 0, alpha: 0 }, 4).composite([{ input: await solid(100, 100, RED).png().toBuffer(), left: 50, top: 50 }]);
  const file = await source("alpha.png", image.png());
  const { previews: list } = await previews(file);
  assert.equal((await sharp(list[0]!.path).metadata()).channels, 3);
  near(await pixel(list[0]!.path, 0, 0), { r: 0x33, g: 0x66, b: 0x99 }, 2, "corner flattened onto #336699");
  near(await pixel(list[0]!.path, 100, 100), RED, 10, "the opaque centre");
  for (const [format, mime] of [
    ["png", "image/png"],
    ["webp", "image/webp"],
    ["avif", "image/avif"],
  ] as const) {
    const { previews: out } = await previews(file, SIZES.slice(0, 1), { ...JPEG, format });
    const meta = await sharp(out[0]!.path).metadata();
    assert.equal(out[0]!.mime, mime);
    assert.ok(out[0]!.path.endsWith(`.${format}`), `${format}: extension of ${out[0]!.path}`);
    assert.deepEqual([meta.format, meta.hasAlpha], [format === "avif" ? "heif" : format, true], `${format}: alpha kept`);
    assert.equal((await pixel(out[0]!.path, 0, 0))[3], 0, `${format}: transparent corner`);
  }
});

test("a truncated JPEG fails permanently, leaving nothing", async () => {
  const whole = await noisy(800, 600).jpeg().toBuffer();
  await failing(await source("truncated.jpg", whole.subarray(0, whole.length >> 1)), "truncated JPEG");
});

test("an empty file, a missing file, and something that is not an image", async () => {
  const empty = await source("empty.jpg", Buffer.alloc(0));
  await failing(empty, "empty file");
  await rejectsWith(detectType(empty), "empty file");
  const missing = path.join(dir, "missing.jpg");
  await failing(missing, `source file not found: ${missing}`);
  await rejectsWith(detectType(missing), `source file not found: ${missing}`);
  await failing(await source("text.jpg", Buffer.from("not a picture at all\n".repeat(20))), /^not an image sharp can read: \S/);
});

test("content decides: a JPEG named .pdf is an image", async () => {
  const file = await source("really-a-jpeg.pdf", noisy(64, 48).jpeg());
  assert.deepEqual(await detectType(file), { kind: "image", mime: "image/jpeg", ext: "jpg" });
  const { previews: list } = await previews(file);
  assert.deepEqual([list[0]!.width, list[0]!.height], [64, 48]);
});

test("a pixel bomb is refused from its header, before decoding", async () => {
  const png = Buffer.from(await solid(1, 1, RED).png().toBuffer());
  assert.equal(png.toString("latin1", 12, 16), "IHDR", "sharp's PNG should start with IHDR");
  png.writeUInt32BE(30000, 16);
  png.writeUInt32BE(30000, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  const file = await source("bomb.png", png);
  const header = await sharp(file, { limitInputPixels: false }).metadata();
  assert.deepEqual([header.width, header.height], [30000, 30000], "patched header");
  const started = Date.now();
  await failing(file, "image is 30000×30000, over the 268 megapixel limit");
  assert.ok(Date.now() - started < 2000, `refusing the bomb took ${Date.now() - started} ms: did it decode?`);
  await rejectsWith(imageInfo(file, 268e6), "image is 30000×30000, over the 268 megapixel limit");
});

test("abort between sizes: the signal's reason, and no outputs at all", async () => {
  const file = await source("abort.jpg", noisy(2000, 1500).jpeg());
  const controller = new AbortController();
  const out = fs.mkdtempSync(path.join(dir, "abort-"));
  const reason = new Error("stopped by the test");
  const run = makeImagePreviews(
    file,
    SIZES,
    JPEG,
    (size, ext) => {
      controller.abort(reason); // while the first size is being written
      return path.join(out, `a_${size.name}.${ext}`);
    },
    controller.signal,
  );
  await assert.rejects(run, (error) => error === reason);
  assertEmpty(out, "an aborted run");
});
