import fs from "node:fs";
import zlib from "node:zlib";
import yauzl from "yauzl";

export interface ZipItem {
  name: string;
  size: number;
  /** 0 stored, 8 deflated. */
  method: number;
  /** General purpose bit 11: the name is UTF-8. */
  utf8: boolean;
  data?: Buffer;
}

export const STORED = 0;
export const DEFLATED = 8;

/**
 * Reads a zip back the way an unzipper would: yauzl with strict file names (it rejects
 * absolute paths, "..", backslashes), every entry's data checked against its CRC-32.
 */
export async function readZip(file: string, options: { data?: boolean } = {}): Promise<ZipItem[]> {
  // From memory when it fits: yauzl reads the central directory with two small reads per
  // entry, and 65,536 entries' worth of them take seconds from a file.
  const how = { strictFileNames: true, autoClose: false };
  const zip = fs.statSync(file).size < 256 << 20 ? await yauzl.fromBufferPromise(fs.readFileSync(file), how) : await yauzl.openPromise(file, how);
  const items: ZipItem[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      const item: ZipItem = {
        name: entry.fileName,
        size: entry.uncompressedSize,
        method: entry.compressionMethod,
        utf8: (entry.generalPurposeBitFlag & 0x800) !== 0,
      };
      if (options.data !== false) {
        const stream = await zip.openReadStreamPromise(entry);
        item.data = Buffer.concat((await stream.toArray()) as Buffer[]);
        if (zlib.crc32(item.data) !== entry.crc32) throw new Error(`CRC-32 of ${entry.fileName} does not match`);
      }
      items.push(item);
    }
  } finally {
    zip.close();
  }
  return items;
}

/** Whether the archive ends with a ZIP64 end-of-central-directory locator (and no comment). */
export function hasZip64End(file: string): boolean {
  const size = fs.statSync(file).size;
  const tail = Buffer.alloc(42);
  const fd = fs.openSync(file, "r");
  try {
    fs.readSync(fd, tail, 0, 42, size - 42);
  } finally {
    fs.closeSync(fd);
  }
  return tail.readUInt32LE(20) === 0x06054b50 && tail.readUInt32LE(0) === 0x07064b50;
}
