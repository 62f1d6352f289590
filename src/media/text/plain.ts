import fs from "node:fs/promises";

/**
 * Bytes → text for plain text, CSV, Markdown and HTML: a BOM decides (UTF-8, UTF-16 LE/BE);
 * without one, UTF-8 if the bytes are valid UTF-8, else Windows-1252 (a superset of Latin-1
 * for printable text, and what "ISO-8859-1" means to browsers). Bytes that look binary are
 * not text at all, so a random file is refused instead of stored as mojibake.
 */
export type TextEncoding = "utf-8" | "utf-16le" | "utf-16be" | "windows-1252";

export interface DecodedText {
  text: string;
  encoding: TextEncoding;
  /** The file was longer than what was read. */
  cut: boolean;
}

/** How much of the file's start the binary test looks at. */
const SNIFF_BYTES = 64 * 1024;

/** Reads at most `maxBytes` of the file and decodes them; null when the bytes are not text. */
export async function readTextFile(file: string, maxBytes: number): Promise<DecodedText | null> {
  const handle = await fs.open(file, "r");
  try {
    const size = (await handle.stat()).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(buffer, filled, length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return decodeText(buffer.subarray(0, filled), size > filled);
  } finally {
    await handle.close();
  }
}

/**
 * `cut` says the bytes stop mid-file: a character split at the end is then dropped instead of
 * making otherwise valid UTF-8 look invalid.
 */
export function decodeText(bytes: Uint8Array, cut = false): DecodedText | null {
  const utf16 = utf16Bom(bytes);
  if (utf16) {
    const text = new TextDecoder(utf16).decode(bytes.subarray(2), { stream: cut });
    // The BOM could be the first bytes of something else (an MPEG frame starts FF FE too).
    const codes = Array.from(text.slice(0, SNIFF_BYTES / 2), (c) => c.charCodeAt(0));
    return looksBinary(codes) ? null : { text, encoding: utf16, cut };
  }
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  if (looksBinary(body.subarray(0, SNIFF_BYTES))) return null;
  try {
    // fatal: invalid UTF-8 throws, which is the test for "not UTF-8".
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(body, { stream: cut }), encoding: "utf-8", cut };
  } catch {
    return { text: decodeWindows1252(body), encoding: "windows-1252", cut };
  }
}

export function utf16Bom(bytes: Uint8Array): "utf-16le" | "utf-16be" | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "utf-16le";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "utf-16be";
  return undefined;
}

/**
 * Windows-1252 by table: Latin-1 except 0x80–0x9F, which hold “smart quotes”, €, – and —.
 * Not TextDecoder: Node 20's "windows-1252" decodes those bytes as Latin-1 C1 controls.
 */
const CP1252_HIGH = "€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ";

function decodeWindows1252(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  return text.replace(/[\u0080-\u009F]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]!);
}

/**
 * More than a stray NUL or a few other control characters (tab, newlines, form feed and
 * escape aside): text files (without a UTF-16 BOM) do not look like that; images,
 * executables and compressed data do.
 */
export function looksBinary(sample: ArrayLike<number> & Iterable<number>): boolean {
  let nuls = 0;
  let controls = 0;
  for (const byte of sample) {
    if (byte === 0) nuls += 1;
    else if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d && byte !== 0x1b) controls += 1;
  }
  return nuls > Math.max(2, sample.length / 1000) || nuls + controls > Math.max(2, sample.length / 100);
}

/** Whether decoded text is an HTML page (file-type recognises no text formats, so this sniffs). */
export function isHtml(text: string): boolean {
  // Only markup at the very start counts, so a text file that mentions <html> stays text.
  return /^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<(!doctype\s+html|html[\s>])/i.test(text.slice(0, 4096));
}
