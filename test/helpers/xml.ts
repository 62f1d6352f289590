/**
 * A small, strict XML reader for the deployment files' tests (no XML parser is among the
 * dependencies, and the tests must not need xmllint): it throws on anything that is not
 * well-formed XML 1.0 as far as these files can contain it — one root element, properly nested
 * and closed tags, quoted and unique attributes, no bare "<" or "&" in text, only the five
 * predefined entities and character references, well-formed comments and declarations.
 * DOCTYPE and CDATA are refused rather than half-supported.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_][\w.:-]*/;

export function parseXml(source: string): XmlElement {
  let at = 0;
  const fail = (why: string): never => {
    const line = source.slice(0, at).split("\n").length;
    throw new Error(`not well-formed XML (line ${line}): ${why}`);
  };
  const decode = (text: string): string => {
    if (/<|&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(text)) fail(`a bare "<" or "&" in ${JSON.stringify(text.slice(0, 40))}`);
    return text
      .replace(/&#x([0-9a-fA-F]+);/g, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
      .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
      .replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" })[e]!);
  };
  const skipMisc = () => {
    for (;;) {
      const rest = source.slice(at);
      const space = /^\s+/.exec(rest);
      if (space) at += space[0].length;
      else if (rest.startsWith("<!--")) {
        const end = source.indexOf("-->", at + 4);
        if (end < 0) fail("unclosed comment");
        if (source.slice(at + 4, end).includes("--")) fail('"--" inside a comment');
        at = end + 3;
      } else if (rest.startsWith("<?")) {
        const end = source.indexOf("?>", at);
        if (end < 0) fail("unclosed processing instruction");
        if (at !== 0 && /^<\?xml\s/i.test(rest)) fail("the XML declaration must come first");
        at = end + 2;
      } else return;
    }
  };
  const element = (): XmlElement => {
    if (source[at] !== "<") fail("expected an element");
    at++;
    const name = NAME.exec(source.slice(at))?.[0] ?? fail("expected an element name");
    at += name.length;
    const attributes: Record<string, string> = {};
    for (;;) {
      const rest = source.slice(at);
      const attribute = /^\s+([A-Za-z_][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(rest);
      if (attribute) {
        if (Object.hasOwn(attributes, attribute[1]!)) fail(`attribute ${attribute[1]} twice on <${name}>`);
        attributes[attribute[1]!] = decode(attribute[3] ?? attribute[4] ?? "");
        at += attribute[0].length;
        continue;
      }
      const close = /^\s*(\/?)>/.exec(rest) ?? fail(`malformed start tag <${name}>`);
      at += close[0].length;
      if (close[1]) return { name, attributes, children: [], text: "" };
      break;
    }
    const children: XmlElement[] = [];
    let text = "";
    for (;;) {
      const next = source.indexOf("<", at);
      if (next < 0) fail(`<${name}> is never closed`);
      text += decode(source.slice(at, next));
      at = next;
      if (source.startsWith(`</`, at)) {
        const end = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(source.slice(at)) ?? fail("malformed end tag");
        if (end[1] !== name) fail(`</${end[1]}> closes <${name}>`);
        at += end[0].length;
        return { name, attributes, children, text: text.trim() };
      }
      if (source.startsWith("<!--", at) || source.startsWith("<?", at)) skipMisc();
      else if (source.startsWith("<!", at)) fail("DOCTYPE and CDATA are not expected here");
      else children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (at !== source.length) fail("content after the root element");
  return root;
}

/** The first element at a path of child names below `root` ("Actions/Exec/Command"). */
export function childAt(root: XmlElement, path: string): XmlElement | undefined {
  let current: XmlElement | undefined = root;
  for (const name of path.split("/")) current = current?.children.find((child) => child.name === name);
  return current;
}
