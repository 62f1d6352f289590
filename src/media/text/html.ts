import type { TextCollector } from "./normalise.js";

/**
 * HTML → the text a reader sees: no script, style, noscript, template, head or title, nothing
 * marked `hidden`; entities decoded (htmlparser2); white space collapsed as a browser does,
 * except in <pre>; block elements start new lines, table cells are separated. The only module
 * that imports htmlparser2 for HTML.
 */
const SKIP = new Set(["script", "style", "noscript", "template", "head", "title", "iframe", "object", "svg"]);
const PARAGRAPHS = new Set(["p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl", "figure", "hr"]);
const LINES = new Set([
  "address",
  "article",
  "aside",
  "caption",
  "dd",
  "details",
  "dialog",
  "div",
  "dt",
  "fieldset",
  "figcaption",
  "footer",
  "form",
  "header",
  "hgroup",
  "li",
  "main",
  "nav",
  "option",
  "section",
  "summary",
  "tr",
]);
const CELLS = new Set(["td", "th"]);

export async function htmlToText(html: string, out: TextCollector): Promise<void> {
  const { Parser } = await import("htmlparser2");
  // Depth inside a skipped element: htmlparser2 closes every element it opens (void and
  // implied ones too), so counting opens and closes below a skipped element is balanced.
  let skipping = 0;
  let pre = 0;
  const boundary = (name: string) => {
    if (PARAGRAPHS.has(name)) out.newline(2);
    else if (LINES.has(name)) out.newline();
  };
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (skipping > 0 || SKIP.has(name) || "hidden" in attributes) {
          skipping += 1;
          return;
        }
        if (name === "pre") pre += 1;
        // Each <br> is a line of its own (two make an empty line), unlike block boundaries.
        if (name === "br") out.push("\n");
        else boundary(name);
      },
      onclosetag(name) {
        if (skipping > 0) {
          skipping -= 1;
          return;
        }
        if (name === "pre") pre -= 1;
        if (CELLS.has(name)) out.push("\t");
        else boundary(name);
      },
      ontext(text) {
        if (skipping > 0 || out.full) return;
        out.push(pre > 0 ? text : text.replace(/[ \t\n\r\f]+/g, " "));
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
}
