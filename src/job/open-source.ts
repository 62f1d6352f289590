import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { PermanentError } from "../errors.js";
import { quote } from "../quote.js";
import { isInsideRoots, realRoots } from "./path-guard.js";

/** An open regular file and what fstat said of it (a caller need not ask again). */
export interface OpenedSource {
  handle: fsp.FileHandle;
  stat: fs.Stats;
}

/**
 * Opens a source that resolveInside() already checked, and checks again what was opened: the
 * check and the open are two steps, and a folder on the way swapped for a symlink between them
 * would otherwise hand over a file outside the roots (SECURITY.md, "Paths"). The last component
 * is opened with O_NOFOLLOW (a file swapped for a symlink fails to open); a folder above it
 * cannot be pinned that way, so the opened descriptor's own path (Linux: /proc/self/fd/N) must
 * still lie under a root. Where /proc is missing, the descriptor's device and inode must be
 * those of a fresh realpath that lies under a root.
 *
 * O_NONBLOCK: a FIFO put in the file's place opens at once instead of waiting for a writer,
 * and is then refused as not a regular file. Returns undefined when the file is gone or is
 * no longer a regular file; throws a PermanentError when it now lies outside the roots.
 */
export async function openInside(resolved: string, roots: string[], shown = resolved): Promise<OpenedSource | undefined> {
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = fs.constants;
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(resolved, O_RDONLY | (O_NOFOLLOW ?? 0) | (O_NONBLOCK ?? 0) | (O_NOCTTY ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR" || code === "ENXIO") return undefined;
    if (code === "ELOOP") throw movedOut(shown);
    throw new PermanentError(`could not read ${quote(shown)}: ${code ?? (error as Error).message}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      return undefined;
    }
    const real = await openedPath(handle, resolved, stat);
    if (real === undefined || !(await insideCachedRoots(real, roots))) throw movedOut(shown);
    return { handle, stat };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/** Resolved roots per roots list (the config's): a zip of 100,000 files resolves them once, not 100,000 times. */
const resolvedRoots = new WeakMap<string[], string[]>();

/** Inside the roots as last resolved; on a miss they are resolved afresh (a root made or moved since) before saying no. */
async function insideCachedRoots(real: string, roots: string[]): Promise<boolean> {
  const cached = resolvedRoots.get(roots);
  if (cached && isInsideRoots(real, cached)) return true;
  const fresh = await realRoots(roots);
  resolvedRoots.set(roots, fresh);
  return isInsideRoots(real, fresh);
}

/** Where the descriptor really points; undefined when that cannot be established. */
async function openedPath(handle: fsp.FileHandle, resolved: string, stat: fs.Stats): Promise<string | undefined> {
  try {
    // Synchronous: a /proc link is answered by the kernel from memory, no disk, and a thread-pool
    // round trip per file would slow a 100,000-file zip down.
    const linked = fs.readlinkSync(`/proc/self/fd/${handle.fd}`);
    if (path.isAbsolute(linked)) return linked;
  } catch {
    // no /proc (macOS, a container without it): compare the inode instead
  }
  try {
    const real = await fsp.realpath(resolved);
    const now = await fsp.stat(real);
    return now.dev === stat.dev && now.ino === stat.ino ? real : undefined;
  } catch {
    return undefined;
  }
}

function movedOut(shown: string): PermanentError {
  return new PermanentError(`the source ${quote(shown)} was replaced by a link leading outside the allowed roots while the job ran`);
}

/** A checked source held open for a job: `path` reaches the opened file whatever happens to its name since. */
export interface PinnedSource {
  /** /proc/<pid>/fd/<n> where that works (this process and its children open the same file through it), else the checked path. */
  path: string;
  close(): Promise<void>;
}

/**
 * For handlers that give a source to sharp, ffmpeg or pdftotext, which open it by name later:
 * the file is opened and checked now (openInside), and they get the descriptor's /proc path,
 * which opens that very file, not whatever the name leads to by then. A child process of the
 * same user may open it too. Where /proc is missing the checked path is given, as before.
 */
export async function pinInside(resolved: string, roots: string[], shown = resolved): Promise<PinnedSource> {
  const { handle } = (await openInside(resolved, roots, shown)) ?? {};
  // Not the name instead: it may lead elsewhere by the time it is opened. The handlers' wording.
  if (!handle) {
    const missing = await fsp.lstat(resolved).then(
      () => false,
      () => true,
    );
    throw new PermanentError(missing ? `source file not found: ${shown}` : `source is not a file: ${shown}`);
  }
  const pinned = `/proc/${process.pid}/fd/${handle.fd}`;
  try {
    const [viaProc, opened] = await Promise.all([fsp.stat(pinned), handle.stat()]);
    if (viaProc.ino === opened.ino && viaProc.dev === opened.dev) return { path: pinned, close: () => handle.close() };
  } catch {
    // no /proc: fall back to the name
  }
  await handle.close();
  return { path: resolved, close: async () => undefined };
}

/** An error whose message names the /proc path instead of the source gets the source's name back. */
export function unpin(error: unknown, pinned: PinnedSource, source: string): unknown {
  if (error instanceof Error && pinned.path !== source && error.message.includes(pinned.path)) error.message = error.message.split(pinned.path).join(source);
  return error;
}
