import { z } from "zod";
import { excerptOf } from "../media/text/normalise.js";
import { extractText } from "../media/text/extract.js";
import { defineHandler } from "../job/handler.js";

/** An application's id: a number or a short string, passed to the sink as it is. */
const id = z.union([z.number().int(), z.string().min(1).max(255)]);

/**
 * A document (PDF, DOCX, ODT, PPTX, XLSX, ODS, HTML, plain text) → normalised text, capped
 * at extractText.maxChars, written through extractText.sink.sql to the application's own
 * table (docs/handlers.md, "extract_text"); the result keeps an excerpt, and the whole text when there is no sink. A PDF without a text
 * layer completes with empty text and a note: retrying would not find any text either.
 */
export default defineHandler({
  name: "extract_text",
  description: "Extracts the text of a PDF, DOCX, ODT, PPTX, XLSX/ODS, HTML or text file and stores it through extractText.sink.sql.",
  schema: z
    .object({
      source: z.string().min(1).max(4096),
      resource: id.optional(),
      field: id.optional(),
    })
    .strict(),
  defaults: { timeoutSeconds: 1800 },
  async run(context, data) {
    const { maxChars, excerptChars, maxPages, maxOutputBytes } = context.config.extractText;
    const source = await context.paths.readable(data.source);
    // Read through the file opened and checked now, not its name (a folder swapped for a symlink since).
    const found = await context.paths.withSource(source, (readPath) => extractText(readPath, context, { maxChars, pdfLimits: { maxPages, maxOutputBytes } }));
    context.progress(90);
    context.log.info(
      `${found.text.length} characters by ${found.engine}${found.truncated ? ` (capped at ${maxChars})` : ""}${found.note ? `; ${found.note}` : ""}`,
    );

    let stored: number | undefined;
    if (context.writeTextSink) {
      stored = await context.writeTextSink({ text: found.text, resource: data.resource ?? null, field: data.field ?? null });
      // Not an error: the application may have deleted the resource since it queued the job.
      if (stored === 0) context.log.warn("extractText.sink.sql changed no rows (is the resource still there?)");
    } else if (data.resource !== undefined) {
      context.log.warn("job_data names a resource but the config has no extractText.sink; the text is only in the result");
    }

    return {
      chars: found.text.length,
      engine: found.engine,
      excerpt: excerptOf(found.text, excerptChars),
      mime: found.mime,
      ...(found.encoding ? { encoding: found.encoding } : {}),
      ...(found.pages !== undefined ? { pages: found.pages } : {}),
      ...(found.truncated ? { truncated: true } : {}),
      ...(found.note ? { note: found.note } : {}),
      // With a sink the text lives in the application's table; without one, the result is
      // the only place it is kept (docs/handlers.md, "extract_text": `"text"? (only without a sink)`).
      ...(stored !== undefined ? { stored } : { text: found.text }),
    };
  },
});
