import type fs from "node:fs";
import fsp from "node:fs/promises";
import { Readable, Writable } from "node:stream";
import { PermanentError } from "../errors.js";

/**
 * File reading and writing for src/media/zip.ts, tuned so that a zip is made as fast as
 * Info-ZIP's `zip -0` with flat memory. The numbers come from bench/zip.ts.
 */

/** One read is one chunk through archiver's streams: big enough that the per-chunk cost of
 * its Transform stages (CRC, zip framing, archiver) is noise next to the copying. */
export const CHUNK = 1 << 20;
/** Chunks in flight across the whole pipeline are about ten; the pool holds a few more. */
const POOL_CHUNKS = 16;
/** Files up to this size are read whole and appended as a buffer: no stream to set up, and a
 * stored entry then carries its sizes and CRC in the local header (no data descriptor). */
export const SMALL = 64 * 1024;
/** archiver's headers arrive as buffers of 2 to 46 bytes; below this they are copied together. */
const TINY = 4096;

/**
 * Reused read buffers. Node allocates a fresh buffer for every read, and V8 collects dead
 * buffers only after some 64 MB of them have piled up: that garbage, not the data in flight,
 * was most of a zipping process's peak memory. A chunk goes back to the pool once the output
 * has written it; when none is free (more in flight than expected) a plain one is allocated.
 */
export class ChunkPool {
  private readonly free: Buffer[] = [];
  private readonly owned = new Map<ArrayBufferLike, Buffer>();
  private readonly busy = new Set<ArrayBufferLike>();

  take(): Buffer {
    let buffer = this.free.pop();
    if (!buffer && this.owned.size < POOL_CHUNKS) {
      buffer = Buffer.allocUnsafeSlow(CHUNK);
      this.owned.set(buffer.buffer, buffer);
    }
    if (!buffer) return Buffer.allocUnsafeSlow(CHUNK);
    this.busy.add(buffer.buffer);
    return buffer;
  }

  /** Any chunk may come back here; only the pool's own, once each, are kept. */
  release(chunk: Buffer): void {
    const buffer = this.owned.get(chunk.buffer);
    if (buffer && this.busy.delete(chunk.buffer)) this.free.push(buffer);
  }
}

/** A source ready to go into the zip: small files already read (and closed). */
export type Prepared = { stat: fs.Stats; data: Buffer } | { stat: fs.Stats; handle: fsp.FileHandle };

/** How a source is opened: undefined when it is gone or not a regular file; a rejection fails the whole zip. */
export type OpenSource = (source: string) => Promise<{ handle: fsp.FileHandle; stat: fs.Stats } | undefined>;

/** A plain open, for callers that checked nothing (tests, a trusted list). */
export const openPlain: OpenSource = async (source) => {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(source, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
    throw readError(source, error);
  }
  try {
    const stat = await handle.stat();
    if (stat.isFile()) return { handle, stat };
    await handle.close();
    return undefined;
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw readError(source, error);
  }
};

/** Opens a source (and reads it when small); undefined when it is gone or not a regular file. */
export async function prepareFile(source: string, open: OpenSource = openPlain): Promise<Prepared | undefined> {
  const opened = await open(source);
  if (!opened) return undefined;
  const { handle, stat } = opened;
  try {
    if (stat.size > SMALL) return { stat, handle };
    const data = await handle.readFile();
    await handle.close();
    return { stat, data };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw readError(source, error);
  }
}

/** A file as a stream of chunks read into pooled (or fresh) buffers; closes the file at the end. */
export function fileReader(handle: fsp.FileHandle, pool: ChunkPool | undefined, seen: (chunk: Buffer) => void): Readable {
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      const buffer = pool ? pool.take() : Buffer.allocUnsafeSlow(CHUNK);
      handle.read(buffer, 0, buffer.length, null).then(
        ({ bytesRead }) => {
          if (bytesRead === 0) {
            pool?.release(buffer);
            this.push(null);
            return;
          }
          const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
          seen(chunk);
          this.push(chunk);
        },
        (error: unknown) => this.destroy(error as Error),
      );
    },
    destroy(error, callback) {
      handle.close().then(
        () => callback(error),
        () => callback(error),
      );
    },
  });
}

/**
 * The archive's file. Pooled chunks go back to the pool once written. Tiny buffers (archiver
 * writes every header field as a buffer of its own, and the central directory of 100,000
 * entries all at once) are copied into one staging buffer and accepted at once: left to queue
 * as objects through three streams they cost some 8 KB per entry.
 */
export class ArchiveWriter extends Writable {
  private readonly staging = Buffer.allocUnsafeSlow(CHUNK);
  private staged = 0;

  constructor(
    private readonly handle: fsp.FileHandle,
    private readonly pool: ChunkPool,
  ) {
    super({ highWaterMark: CHUNK });
  }

  override write(chunk: unknown, ...rest: unknown[]): boolean {
    if (Buffer.isBuffer(chunk) && rest.length === 0 && chunk.length < TINY) {
      if (this.staged + chunk.length > this.staging.length) this.flushStaging();
      this.staged += chunk.copy(this.staging, this.staged);
      this.pool.release(chunk); // the tail of a pooled chunk: copied, so free again
      return true;
    }
    this.flushStaging();
    return Writable.prototype.write.apply(this, [chunk, ...rest] as never);
  }

  override end(...args: unknown[]): this {
    this.flushStaging();
    return Writable.prototype.end.apply(this, args as never) as this;
  }

  private flushStaging(): void {
    if (this.staged === 0) return;
    // A copy the size of what was staged (often one header of some 50 bytes); the staging
    // buffer itself is reused.
    super.write(Buffer.from(this.staging.subarray(0, this.staged)));
    this.staged = 0;
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    const buffers = chunks.map(({ chunk }) => chunk);
    writeAll(this.handle, buffers).then(() => {
      for (const buffer of buffers) this.pool.release(buffer);
      callback();
    }, callback);
  }

  override _write(chunk: Buffer, _encoding: string, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.handle.close().then(
      () => callback(error),
      () => callback(error),
    );
  }
}

/** writev may write less than asked (a filling disk): go on until all is written or it fails. */
async function writeAll(handle: fsp.FileHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest);
    if (bytesWritten === 0) throw Object.assign(new Error("nothing written"), { code: "EIO" });
    let i = 0;
    while (i < rest.length && bytesWritten >= rest[i]!.length) bytesWritten -= rest[i++]!.length;
    if (i === rest.length) return;
    rest = [rest[i]!.subarray(bytesWritten), ...rest.slice(i + 1)];
  }
}

export function readError(source: string, error: unknown): PermanentError {
  const code = (error as NodeJS.ErrnoException).code;
  return new PermanentError(`could not read ${source}: ${code ?? (error as Error).message}`);
}

/** What the job's error says when the archive cannot be written. */
export function writeError(error: unknown): PermanentError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") return new PermanentError("disk full while writing the zip");
  return new PermanentError(`could not write the zip: ${code ?? (error as Error).message}`);
}
