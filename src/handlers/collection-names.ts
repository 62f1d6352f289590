import path from "node:path";

/**
 * Entry names for collection_download. A zip entry name becomes a path on the user's disk
 * when extracted, so it must never climb out of the extraction folder or mean something
 * special on Windows, and two entries must never land on the same file there either.
 */

/** C0/C1 controls, and the bidirectional overrides that can disguise "exe.jpg" as "gpj.exe". */
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** Reserved in Windows file names; a colon would also be read as a drive or stream. */
const RESERVED = /[<>:"|?*]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Folder and file names longer than this are cut (most file systems stop at 255 bytes). */
const MAX_SEGMENT = 120;

/**
 * A relative path with "/" separators: backslashes count as separators, a drive letter or
 * leading slashes are dropped, "." and ".." segments removed, controls removed, NFC.
 * Empty when nothing usable is left.
 */
export function sanitizeEntryName(raw: string): string {
  return raw
    .replace(LONE_SURROGATE, "\uFFFD")
    .normalize("NFC")
    .replace(INVISIBLE, "")
    .replace(/\\/g, "/")
    .replace(/^[A-Za-z]:/, "")
    .split("/")
    .map((segment) =>
      shorten(
        segment
          .replace(RESERVED, "_")
          .trim()
          .replace(/[. ]+$/, ""),
      ),
    )
    .filter((segment) => segment !== "" && segment !== "." && segment !== "..")
    .join("/");
}

/** Cuts a long name, keeping its extension. */
function shorten(segment: string): string {
  const chars = [...segment];
  if (chars.length <= MAX_SEGMENT) return segment;
  const extension = path.extname(segment).slice(0, 16);
  return chars.slice(0, MAX_SEGMENT - [...extension].length).join("") + extension;
}

/**
 * Hands out unique names: "photo.jpg", then "photo (2).jpg", "photo (3).jpg"… Compared
 * without regard to case, since Windows and macOS would extract "Photo.jpg" and "photo.jpg"
 * to one file. A name whose folder is already a file (or a file already a folder) is
 * renamed too.
 */
export class UniqueNames {
  private readonly files = new Set<string>();
  private readonly folders = new Set<string>();
  /** Next suffix to try per name, so that 100,000 "photo.jpg" stay linear. */
  private readonly next = new Map<string, number>();

  take(wanted: string): string {
    let name = wanted;
    // A folder of this name that is already a file: flatten this one name instead.
    if (parents(name).some((folder) => this.files.has(folder.toLowerCase()))) name = name.replace(/\//g, "_");
    const key = name.toLowerCase();
    let unique = name;
    if (this.taken(key)) {
      const extension = path.posix.extname(name);
      const stem = name.slice(0, name.length - extension.length);
      let n = this.next.get(key) ?? 2;
      while (this.taken(`${stem} (${n})${extension}`.toLowerCase())) n++;
      this.next.set(key, n + 1);
      unique = `${stem} (${n})${extension}`;
    }
    this.files.add(unique.toLowerCase());
    for (const folder of parents(unique)) this.folders.add(folder.toLowerCase());
    return unique;
  }

  private taken(key: string): boolean {
    return this.files.has(key) || this.folders.has(key);
  }
}

/** "a/b/c.txt" → ["a", "a/b"]. */
function parents(name: string): string[] {
  const segments = name.split("/");
  return segments.slice(0, -1).map((_, i) => segments.slice(0, i + 1).join("/"));
}

/**
 * Formats whose data is already compressed: deflating them costs time and gains nothing
 * (often a few bytes lost), so `compression: auto` stores them. By extension: this only
 * picks the compression method, so a wrong extension costs a little size, never safety.
 */
const COMPRESSED = new Set(
  (
    "jpg jpeg jpe jfif png gif webp avif heic heif jxl jp2 " +
    "mp4 m4v m4a mov qt mkv webm avi wmv flv 3gp 3g2 mpg mpeg m2ts mts ts vob ogv " +
    "mp3 aac ogg oga opus flac wma " +
    "zip zipx gz tgz bz2 tbz2 xz txz zst lz lzma lz4 7z rar cab br " +
    "pdf docx xlsx pptx odt ods odp odg epub jar apk ipa woff woff2"
  ).split(" "),
);

export function isCompressedFormat(file: string): boolean {
  return COMPRESSED.has(path.extname(file).slice(1).toLowerCase());
}

/**
 * One RFC 4180 field: quoted when it holds a quote, comma or line break. A text that a
 * spreadsheet would take for a formula (=, +, -, @, tab, CR first) gets a leading ' so that
 * opening the manifest never runs one (file names come from job rows).
 */
export function csvField(value: string | number): string {
  const text = typeof value === "string" && /^[=+\-@\t\r]/.test(value) ? `'${value}` : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
