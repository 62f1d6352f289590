import type { TextCollector } from "./normalise.js";

/**
 * What office.ts looks for in each kind of XML part, as small state machines over parser
 * events. Element and attribute names arrive without their namespace prefix (w:t → t), since
 * the prefixes are conventions, not fixed.
 */
export interface XmlEvents {
  open?(name: string, attributes: Record<string, string>): void;
  close?(name: string): void;
  text?(text: string): void;
}

export const local = (name: string) => name.slice(name.indexOf(":") + 1);

function attribute(attributes: Record<string, string>, name: string): string | undefined {
  for (const [key, value] of Object.entries(attributes)) if (local(key) === name) return value;
  return undefined;
}

/** A paragraph ends its line, except in a table cell, where the row is the line. */
function endParagraph(out: TextCollector, inCell: number): void {
  if (inCell > 0) out.push(" ");
  else out.newline();
}

/** Table cells and rows (WordprocessingML and DrawingML alike): paragraphs end lines, except in a cell, where the row is the line. */
function tableLayout(out: TextCollector): { open(name: string): void; close(name: string): void } {
  let inCell = 0;
  return {
    open(name) {
      if (name === "tc") inCell += 1;
    },
    close(name) {
      if (name === "p") endParagraph(out, inCell);
      else if (name === "tr") out.newline();
      else if (name === "tc") {
        inCell -= 1;
        out.push("\t");
      }
    },
  };
}

/** WordprocessingML: runs' <w:t>, tabs and breaks; paragraphs and table rows end lines. */
export function docxEvents(out: TextCollector): XmlEvents {
  const table = tableLayout(out);
  let inText = 0;
  let inTabStops = 0; // <w:tabs> in paragraph properties lists tab stops, not tabs
  return {
    open(name) {
      table.open(name);
      if (name === "t") inText += 1;
      else if (name === "tabs") inTabStops += 1;
      else if (name === "tab" && inTabStops === 0) out.push("\t");
      else if (name === "br" || name === "cr") out.push("\n");
    },
    close(name) {
      table.close(name);
      if (name === "t") inText -= 1;
      else if (name === "tabs") inTabStops -= 1;
    },
    text(text) {
      if (inText > 0) out.push(text);
    },
  };
}

/** DrawingML text in a slide: <a:t> runs, <a:br/>, paragraphs end lines. */
export function pptxEvents(out: TextCollector): XmlEvents {
  const table = tableLayout(out);
  let inText = 0;
  return {
    open(name) {
      table.open(name);
      if (name === "t") inText += 1;
      else if (name === "br") out.push("\n");
    },
    close(name) {
      table.close(name);
      if (name === "t") inText -= 1;
    },
    text(text) {
      if (inText > 0) out.push(text);
    },
  };
}

/** xl/sharedStrings.xml: one string per <si>, rich-text runs joined, phonetic hints left out. */
export function sharedStringEvents(strings: string[]): XmlEvents {
  let current: string[] | null = null;
  let inText = 0;
  let phonetic = 0;
  return {
    open(name) {
      if (name === "si") current = [];
      else if (name === "t") inText += 1;
      else if (name === "rPh") phonetic += 1;
    },
    close(name) {
      if (name === "si" && current) {
        strings.push(current.join(""));
        current = null;
      } else if (name === "t") inText -= 1;
      else if (name === "rPh") phonetic -= 1;
    },
    text(text) {
      if (current && inText > 0 && phonetic === 0) current.push(text);
    },
  };
}

/**
 * A worksheet: each <c>'s value as text (shared strings looked up, booleans as TRUE/FALSE,
 * numbers as stored: date formats would need styles.xml), tab-separated, a row per line.
 */
export function sheetEvents(out: TextCollector, strings: string[]): XmlEvents {
  let type = "n";
  let value = "";
  let capturing = 0;
  let inline = 0;
  return {
    open(name, attributes) {
      if (name === "c") {
        type = attribute(attributes, "t") ?? "n";
        value = "";
      } else if (name === "v" || (name === "t" && inline > 0)) capturing += 1;
      else if (name === "is") inline += 1;
    },
    close(name) {
      if (name === "v" || (name === "t" && inline > 0)) capturing -= 1;
      else if (name === "is") inline -= 1;
      else if (name === "c") out.push(`${cellText(type, value, strings)}\t`);
      else if (name === "row") out.newline();
    },
    text(text) {
      if (capturing > 0) value += text;
    },
  };
}

function cellText(type: string, value: string, strings: string[]): string {
  if (type === "s") return strings[Number(value)] ?? "";
  if (type === "b") return value === "1" ? "TRUE" : "FALSE";
  return value;
}

/**
 * OpenDocument content.xml: text inside office:body; <text:s text:c="n"/> is n spaces;
 * paragraphs, headings and table rows end lines; cells are tab-separated. Tracked deletions
 * and comments are not the document's text.
 */
export function odfEvents(out: TextCollector): XmlEvents {
  const SKIP = new Set(["tracked-changes", "annotation"]);
  let body = 0;
  let skipping = 0;
  let inCell = 0;
  return {
    open(name, attributes) {
      if (skipping > 0 || SKIP.has(name)) {
        skipping += 1;
        return;
      }
      if (name === "body") body += 1;
      else if (name === "table-cell") inCell += 1;
      else if (name === "s") out.push(" ".repeat(Math.min(100, Number(attribute(attributes, "c") ?? 1) || 1)));
      else if (name === "tab") out.push("\t");
      else if (name === "line-break") out.push("\n");
    },
    close(name) {
      if (skipping > 0) {
        skipping -= 1;
        return;
      }
      if (name === "body") body -= 1;
      else if (name === "p" || name === "h") endParagraph(out, inCell);
      else if (name === "table-row") out.newline();
      else if (name === "table-cell") {
        inCell -= 1;
        out.push("\t");
      } else if (name === "table" || name === "page") out.newline(2);
    },
    text(text) {
      if (body > 0 && skipping === 0) out.push(text);
    },
  };
}
