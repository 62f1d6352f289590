import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { makeTempDir, ROOT } from "../helpers/cli.js";

/**
 * The README's first command sets up a bare Debian 12 with Node.js 20: scripts/setup.sh
 * --dry-run prints its plan for the machine it finds. Here the machine is simulated by a PATH
 * that holds only the programs named, so that "no server installed" can be tried on a machine
 * that has one.
 */

const HANDLER_TOOLS = ["ffmpeg", "ffprobe", "pdftoppm", "pdfinfo", "pdftotext", "zip", "prlimit", "rsync", "chromium"];

function planWith(programs: string[]): { code: number | null; out: string } {
  const bin = makeTempDir("oj-setup-path-");
  for (const name of ["dirname", ...programs]) {
    const found = spawnSync("bash", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
    if (found) fs.symlinkSync(found, path.join(bin, name));
  }
  const result = spawnSync("/bin/bash", [path.join(ROOT, "scripts/setup.sh"), "--dry-run"], { encoding: "utf8", env: { PATH: bin } });
  fs.rmSync(bin, { recursive: true, force: true });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

test("on a machine with no MariaDB installed, setup plans to install mariadb-server, start it and let root in for the tests", () => {
  const { code, out } = planWith(HANDLER_TOOLS);
  assert.equal(code, 0, out);
  assert.match(out, /no MariaDB server answers and none is installed: mariadb-server will be installed/);
  assert.match(out, /would run: apt-get install -y --no-install-recommends mariadb-server mariadb-client/);
  assert.match(out, /would run: \/etc\/init\.d\/mariadb start/);
  assert.match(out, /would run: mariadb -uroot \(grant root an empty password/);
});

test("with the server installed but stopped, setup starts it and installs nothing, and changes no existing server's users", () => {
  const { code, out } = planWith([...HANDLER_TOOLS, "mariadbd"]);
  assert.equal(code, 0, out);
  assert.match(out, /--- Debian packages: all present/);
  assert.match(out, /would run: \/etc\/init\.d\/mariadb start/);
  assert.doesNotMatch(out, /mariadb-server|grant root/);
});

test("a machine without ffmpeg or poppler gets them from Debian's packages", () => {
  const { out } = planWith(["mariadbd", "zip", "prlimit", "rsync", "chromium"]);
  assert.match(out, /would run: apt-get install -y --no-install-recommends ffmpeg poppler-utils$/m);
});

test("a machine without chromium gets Debian's package for the jobs page's browser tests (no browser download)", () => {
  const { out } = planWith([...HANDLER_TOOLS.filter((tool) => tool !== "chromium"), "mariadbd"]);
  assert.match(out, /would run: apt-get install -y --no-install-recommends chromium$/m);
});
