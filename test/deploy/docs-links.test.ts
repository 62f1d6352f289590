import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { ROOT } from "../helpers/cli.js";

/**
 * The README and docs/ link to each other by file and heading; a heading renamed or a section
 * moved must not leave a newcomer on a dead link.
 */

const FILES = ["README.md", "SECURITY.md", ...fs.readdirSync(path.join(ROOT, "docs")).map((name) => `docs/${name}`)].filter((file) => file.endsWith(".md"));

/** GitHub's anchor for a heading: lower case, punctuation but - and _ dropped, spaces to -. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchorsOf(file: string): Set<string> {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8").replace(/```[\s\S]*?```/g, "");
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchor(match[1]!)));
}

test("every relative link in the README and docs/ leads to a file and heading that exist", () => {
  const broken: string[] = [];
  for (const file of FILES) {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8").replace(/```[\s\S]*?```/g, "");
    for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1]!;
      if (/^[a-z]+:/i.test(target)) continue;
      const [where, hash] = target.split("#") as [string, string | undefined];
      const linked = where === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), where));
      if (!fs.existsSync(path.join(ROOT, linked))) broken.push(`${file}: ${target} (no file ${linked})`);
      else if (hash !== undefined && linked.endsWith(".md") && !anchorsOf(linked).has(hash))
        broken.push(`${file}: ${target} (no heading #${hash} in ${linked})`);
    }
  }
  assert.deepEqual(broken, [], "fix these links or the headings they point at");
});
