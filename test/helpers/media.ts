import { execFileSync } from "node:child_process";
import fs from "node:fs";

/**
 * Test media made on the spot (no binary fixtures in the repository): ffmpeg's lavfi
 * sources for video and sound, a hand-written PDF.
 */
export function makeVideo(file: string, seconds = 3, size = "640x360", withAudio = true): string {
  const audio = withAudio ? ["-f", "lavfi", "-i", `sine=frequency=440:duration=${seconds}`] : [];
  execFileSync("ffmpeg", [
    "-v",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    `testsrc=duration=${seconds}:size=${size}:rate=25`,
    ...audio,
    "-c:v",
    "libx264",
    "-pix_fmt",
    "yuv420p",
    ...(withAudio ? ["-c:a", "aac"] : []),
    "-shortest",
    file,
  ]);
  return file;
}

export function makeWav(file: string, seconds = 2): string {
  execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", `sine=frequency=440:duration=${seconds}`, file]);
  return file;
}

/** A one-page (or more) PDF with a line of text per page, with a correct xref table. */
export function makePdf(file: string, pages: string[] = ["Hello from offline-jobs"]): string {
  const objects: string[] = [];
  const kids = pages.map((_, i) => `${3 + i * 2} 0 R`).join(" ");
  objects.push("<< /Type /Catalog /Pages 2 0 R >>");
  objects.push(`<< /Type /Pages /Kids [${kids}] /Count ${pages.length} >>`);
  const fontRef = 3 + pages.length * 2;
  pages.forEach((text, i) => {
    const stream = `BT /F1 24 Tf 72 720 Td (${text.replace(/[()\\]/g, "\\$&")}) Tj ET`;
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${4 + i * 2} 0 R /Resources << /Font << /F1 ${fontRef} 0 R >> >> >>`);
    objects.push(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
  });
  objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
  return writePdfObjects(file, objects);
}

/** ffprobe's view of a file: streams and format. */
export function ffprobe(file: string): { streams: Array<Record<string, any>>; format: Record<string, any> } {
  return JSON.parse(execFileSync("ffprobe", ["-v", "error", "-print_format", "json", "-show_streams", "-show_format", file], { encoding: "utf8" }));
}

/** ffmpeg processes whose parent is this process, with their argv (from /proc; Linux only). */
export function childFfmpegs(): Array<{ pid: number; argv: string[] }> {
  const found: Array<{ pid: number; argv: string[] }> = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm !== "ffmpeg" || ppid !== process.pid) continue;
      found.push({ pid: Number(entry), argv: fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").slice(0, -1) });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/**
 * A PDF of `pages` pages that all draw the one content stream (`lines` lines of text): a few
 * hundred KB that pdftotext turns into text without end (SECURITY.md, "Decompression bombs").
 */
export function makeSharedStreamPdf(file: string, pages: number, lines = 60): string {
  const text = Array.from(
    { length: lines },
    (_, i) => `BT /F1 9 Tf 40 ${770 - i * 12} Td (Line ${i} of the page that every page shares, repeated to fill it.) Tj ET`,
  ).join("\n");
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    `<< /Type /Pages /Kids [${Array.from({ length: pages }, (_, i) => `${5 + i} 0 R`).join(" ")}] /Count ${pages} >>`,
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ...Array.from({ length: pages }, () => "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R /Resources << /Font << /F1 4 0 R >> >> >>"),
  ];
  return writePdfObjects(file, objects);
}

/** The largest peak resident size (VmHWM, bytes) among running ffmpeg processes whose command line mentions `marker`. */
export function ffmpegPeakRss(marker: string): number {
  let peak = 0;
  for (const pid of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "ffmpeg") continue;
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker)) continue;
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
      peak = Math.max(peak, kb * 1024);
    } catch {
      // gone meanwhile
    }
  }
  return peak;
}

/** Writes numbered PDF objects (the first is the catalog) with their cross-reference table and trailer. */
function writePdfObjects(file: string, objects: string[]): string {
  let body = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(Buffer.byteLength(body));
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body);
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  fs.writeFileSync(file, body);
  return file;
}
