import { createHash } from "node:crypto";
import fsp from "node:fs/promises";
import { createRequire } from "node:module";
import type { Readable } from "node:stream";
import zlib from "node:zlib";
import { PermanentError } from "../errors.js";
import { ArchiveWriter, CHUNK, ChunkPool, fileReader, prepareFile, readError, writeError, type OpenSource, type Prepared } from "./zip-io.js";

export { writeError } from "./zip-io.js";

/**
 * Streams files into one zip with archiver. The only module that imports archiver, lazily,
 * so that runs with no zip to make never load it.
 *
 * Entries go to archiver one at a time, files opened a few ahead of their turn (100,000
 * entries never hold 100,000 descriptors or queue 100,000 streams), and a file that vanished
 * since it was listed is skipped and reported instead of breaking the archive.
 *
 * ZIP64: archiver adds the ZIP64 end records past 65,535 entries or 4 GiB of archive, and a
 * ZIP64 extra field in the central directory for an entry past 4 GiB. Its local header for
 * such an entry has no ZIP64 field (the size is not known when it is written), which readers
 * that go by the central directory (Info-ZIP unzip, yauzl, 7-Zip, libarchive) do not mind.
 */
export interface FileEntry {
  source: string;
  name: string;
  /** Stored as is, else deflated. */
  store: boolean;
}

export type ZipEntry =
  | FileEntry
  /** Made when its turn comes, so that it can sum up the entries before it (a manifest). */
  | { content: () => Buffer; name: string; store: boolean };

export interface WrittenFile {
  entry: FileEntry;
  bytes: number;
  /** Hex, with options.sha256. */
  sha256?: string;
}

export interface WriteZipOptions {
  signal?: AbortSignal;
  /** The sum of the files' sizes, for progress and for choosing ZIP64 up front. */
  totalBytes?: number;
  onProgress?(done: number, total: number): void;
  /** Hash every file while it streams (for a manifest), instead of reading it twice. */
  sha256?: boolean;
  /**
   * Deflate level for the entries not stored. Default 6 (zip's own): only text and the like
   * are deflated, where 6 makes ~20% smaller output than 1 at ~100 MB/s.
   */
  level?: number;
  onFile?(file: WrittenFile): void;
  /**
   * Opens each source; by default a plain open. A caller that checked the paths passes one that
   * checks the opened file again (a folder swapped for a symlink since the check).
   */
  open?: OpenSource;
  /** The zip fails with tooLarge() once more than this many bytes of files went in (a file that grew since it was listed). */
  maxBytes?: number;
  tooLarge?(): Error;
}

export interface WriteZipResult {
  /** Size of the archive. */
  bytes: number;
  entries: number;
  /** Files that were gone (or no longer regular files) when their turn came. */
  missing: FileEntry[];
}

/** Files opened (small ones read) ahead of the one being written, to hide each file's latency. */
const LOOKAHEAD = 8;
const ZIP64_LIMIT = 0xffffffff;

export async function writeZip(entries: ZipEntry[], target: string, options: WriteZipOptions = {}): Promise<WriteZipResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const total = options.totalBytes ?? 0;
  const { ZipArchive } = await import("archiver");
  useNativeCrc();
  const pool = new ChunkPool();
  const handle = await fsp.open(target, "w").catch((error: unknown) => Promise.reject(writeError(error)));
  const output = new ArchiveWriter(handle, pool);
  const archive = new ZipArchive({
    highWaterMark: CHUNK,
    // archiver switches to ZIP64 by itself once past the limits; forcing it when we come close
    // keeps an offset or a count from landing exactly on a 0xFFFF… value that means "see ZIP64".
    forceZip64: total >= ZIP64_LIMIT - 0x1000000 || entries.length >= 0xffff,
    zlib: { level: options.level ?? 6, memLevel: 9 },
  });

  let failure: unknown;
  let current: Readable | undefined;
  /** Rejects whatever the loop is waiting for; one wait at a time, so nothing piles up. */
  let wake: ((error: unknown) => void) | undefined;
  const fail = (error: unknown) => {
    if (failure !== undefined) return;
    failure = error;
    archive.abort();
    current?.destroy();
    output.destroy();
    wake?.(error);
  };
  const waitFor = <T>(promise: Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      if (failure !== undefined) return reject(failure);
      const mine = reject;
      wake = mine;
      promise.then(resolve, reject).finally(() => {
        if (wake === mine) wake = undefined; // a later wait may have taken its place already
      });
    });
  const onAbort = () => fail(signal?.reason ?? new Error("aborted"));
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) onAbort(); // while archiver was loading
  // Every stream keeps an error listener to the end: a late 'error' must not crash the process.
  archive.on("error", (error) => fail(new PermanentError(`could not make the zip: ${error.message}`)));
  archive.on("warning", (error) => fail(new PermanentError(`could not make the zip: ${error.message}`)));
  output.on("error", (error) => fail(writeError(error)));
  const closed = new Promise<void>((resolve) => output.once("close", resolve));
  archive.pipe(output);

  let done = 0;
  let reported = -1;
  const step = Math.max(total / 200, CHUNK);
  const progress = (bytes: number) => {
    done += bytes;
    if (options.maxBytes !== undefined && done > options.maxBytes) {
      fail(options.tooLarge?.() ?? new PermanentError(`the files hold more than ${options.maxBytes} bytes`));
    }
    if (options.onProgress && (done - reported >= step || done === total)) {
      reported = done;
      options.onProgress(done, total);
    }
  };
  /** Resolves when archiver has taken in the entry appended next (its 'entry' event). */
  const appended = () => new Promise<void>((resolve) => archive.once("entry", () => resolve()));
  const ahead = new Map<number, Promise<Prepared | undefined>>();
  const prepare = (i: number) => {
    const entry = entries[i];
    if (!entry || "content" in entry || ahead.has(i)) return;
    const promise = prepareFile(entry.source, options.open);
    promise.catch(() => undefined); // awaited in turn; an early rejection is not unhandled
    ahead.set(i, promise);
  };
  const missing: FileEntry[] = [];
  let count = 0;

  try {
    for (let i = 0; i < entries.length && failure === undefined; i++) {
      const entry = entries[i]!;
      for (let j = i; j < i + LOOKAHEAD; j++) prepare(j);
      if ("content" in entry) {
        const written = appended();
        archive.append(entry.content(), { name: entry.name, store: entry.store, date: new Date() });
        await waitFor(written);
        count++;
        continue;
      }
      const opened = await waitFor(ahead.get(i)!);
      ahead.delete(i);
      if (!opened) {
        missing.push(entry);
        continue;
      }
      const hash = options.sha256 ? createHash("sha256") : undefined;
      let bytes = 0;
      const seen = (chunk: Buffer) => {
        bytes += chunk.length;
        hash?.update(chunk);
        progress(chunk.length);
      };
      const data = { name: entry.name, store: entry.store, date: opened.stat.mtime };
      const written = appended();
      if ("data" in opened) {
        seen(opened.data);
        archive.append(opened.data, data);
      } else {
        // Stored chunks reach the output unchanged, so they can come from the pool and go back
        // once written; deflated ones end inside zlib, so they are plain allocations.
        current = fileReader(opened.handle, entry.store ? pool : undefined, seen);
        current.on("error", (error) => fail(failure ?? readError(entry.source, error)));
        archive.append(current, data);
      }
      await waitFor(written);
      current = undefined;
      count++;
      options.onFile?.({ entry, bytes, sha256: hash?.digest("hex") });
    }
    if (failure === undefined) archive.finalize().catch(() => undefined);
    await waitFor(closed);
    return { bytes: archive.pointer(), entries: count, missing };
  } catch (error) {
    fail(error);
    // Files opened ahead and never reached are closed, not left to the garbage collector.
    for (const promise of ahead.values()) {
      promise.then((opened) => (opened && "handle" in opened ? opened.handle.close() : undefined)).catch(() => undefined);
    }
    await closed;
    throw failure;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

let crcChecked = false;

/**
 * archiver's CRC-32 comes from the pure-JS crc-32 package: about 1.6 GB/s once the JIT has
 * warmed up and far slower before (0.6 s of a 400 MB zip in a fresh process), the only part
 * of zipping that is not I/O. Node ≥ 20.15 has zlib.crc32, native and ~3× faster, so crc-32's
 * buf() (the only function compress-commons and crc32-stream call) is pointed at it, after
 * checking that both give the same value on the standard test vector. Elsewhere it stays.
 */
function useNativeCrc(): void {
  if (crcChecked) return;
  crcChecked = true;
  if (typeof zlib.crc32 !== "function") return;
  try {
    const fromArchiver = createRequire(import.meta.resolve("archiver"));
    const commons = createRequire(createRequire(fromArchiver.resolve("zip-stream")).resolve("compress-commons"));
    const crcStream = createRequire(commons.resolve("crc32-stream"));
    const native = (data: Uint8Array, seed?: unknown) => zlib.crc32(data, typeof seed === "number" ? seed >>> 0 : 0) | 0;
    const check = Buffer.from("123456789");
    for (const crc of new Set([commons("crc-32"), crcStream("crc-32")]) as Set<{ buf: typeof native }>) {
      if (crc.buf(check, 0) === (0xcbf43926 | 0) && native(check, 0) === (0xcbf43926 | 0)) crc.buf = native;
    }
  } catch {
    // a different layout of archiver's dependencies: keep its own CRC, slower but correct
  }
}
