import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { Command } from "commander";
import { buildProgram } from "../../src/cli/index.js";
import { BIN, makeTempDir, ROOT } from "../helpers/cli.js";
import { childAt, parseXml } from "../helpers/xml.js";

/**
 * The deployment files (docs/operations.md, "Deployment"): systemd units checked by systemd-analyze where it exists,
 * the Windows task's XML, crontab.example's lines, and every command line in them accepted
 * by this offline-jobs' own command-line parser (so renaming a flag breaks this test, not a
 * production host).
 */

const UNITS = ["offline-jobs.service", "offline-jobs.timer", "offline-jobs-worker.service", "offline-jobs-web.service"];
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

type Unit = Record<string, Record<string, string[]>>;

/** systemd's unit syntax, as far as these files use it: [Section], Key=value (repeatable), # comments. */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) section = unit[header[1]!] = {};
    else {
      const eq = line.indexOf("=");
      assert.ok(section && eq > 0, `not a unit line: ${line}`);
      (section[line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
    }
  }
  return unit;
}

const one = (unit: Unit, section: string, key: string) => unit[section]?.[key]?.at(-1);

/** Fails unless the program accepts `args` (offline-jobs's argv after its name): a known command and known flags. */
async function assertCliAccepts(args: string[], where: string): Promise<Command> {
  const program = await buildProgram();
  const globalFlags = new Set(program.options.flatMap((o) => [o.long, o.short]).filter(Boolean));
  const commandName = args[0] && !args[0].startsWith("-") ? args[0] : "run";
  const command = program.commands.find((c) => c.name() === commandName);
  assert.ok(command, `${where}: offline-jobs has no command "${commandName}"`);
  const flags = new Set(command.options.flatMap((o) => [o.long, o.short]).filter(Boolean));
  for (const arg of args.filter((a) => a.startsWith("-"))) {
    assert.ok(flags.has(arg) || globalFlags.has(arg), `${where}: offline-jobs ${commandName} has no flag ${arg}`);
  }
  return command;
}

/** --grace on the unit's command line, else the command's default; fails if the command has none. */
function graceOf(command: Command, argv: string[]): number {
  const given = argv.indexOf("--grace");
  const grace = Number(given >= 0 ? argv[given + 1] : command.options.find((o) => o.long === "--grace")?.defaultValue);
  assert.ok(grace > 0, `offline-jobs ${command.name()} has a --grace option with a default`);
  return grace;
}

function stopSeconds(unit: Unit): number {
  const value = one(unit, "Service", "TimeoutStopSec") ?? "";
  return Number(/^(\d+)s?$/.exec(value)?.[1] ?? NaN);
}

function systemdAnalyze(): string | undefined {
  const probe = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
  return probe.status === 0 ? undefined : "systemd-analyze is not installed here (Debian: apt-get install systemd)";
}

/** The units in a temporary folder, with ExecStart's bare `offline-jobs` replaced by `program`. */
function unitsWithProgram(program: string, edit: (text: string) => string = (t) => t): string[] {
  const dir = makeTempDir("oj-units-");
  return UNITS.map((name) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, edit(read(`systemd/${name}`).replace(/^ExecStart=offline-jobs /m, `ExecStart=${program} `)));
    return file;
  });
}

function verify(files: string[]): { status: number | null; complaints: string[] } {
  const result = spawnSync("systemd-analyze", ["verify", "--man=no", ...files], { encoding: "utf8" });
  fs.rmSync(path.dirname(files[0]!), { recursive: true, force: true });
  // verify also reports problems of the host's own units; ours name our files or units.
  const complaints = `${result.stdout}\n${result.stderr}`.split("\n").filter((line) => /offline-jobs/.test(line));
  return { status: result.status, complaints };
}

test("the systemd units pass systemd-analyze verify, which does catch a bad value", { skip: systemdAnalyze() }, () => {
  // verify insists that ExecStart's program exists. The units name `offline-jobs` as
  // `npm install -g` installs it (systemd finds it in /usr/local/bin or /usr/bin); this
  // machine runs the repository's bin/offline-jobs instead.
  const good = verify(unitsWithProgram(BIN));
  assert.deepEqual(good.complaints, [], `systemd-analyze verify complains:\n${good.complaints.join("\n")}`);
  assert.equal(good.status, 0);
  const bad = verify(unitsWithProgram(BIN, (text) => text.replace("ProtectHome=yes", "ProtectHome=sometimes")));
  assert.ok(
    bad.complaints.some((line) => /ProtectHome|protect home/i.test(line)),
    `verify should reject ProtectHome=sometimes: ${bad.complaints.join("\n")}`,
  );
});

test("offline-jobs.service runs `offline-jobs run --quiet` once, and the timer starts it every minute, catching up after downtime", async () => {
  const service = parseUnit(read("systemd/offline-jobs.service"));
  const timer = parseUnit(read("systemd/offline-jobs.timer"));
  assert.equal(one(service, "Service", "Type"), "oneshot");
  const argv = one(service, "Service", "ExecStart")!.split(/\s+/);
  assert.deepEqual(argv.slice(0, 3), ["offline-jobs", "run", "--quiet"]);
  const run = await assertCliAccepts(argv.slice(1), "offline-jobs.service");
  // A stop (shutdown) lets the run's jobs finish within its grace period before systemd's SIGKILL.
  assert.equal(one(service, "Service", "KillMode"), "mixed");
  assert.ok(stopSeconds(service) > graceOf(run, argv), `TimeoutStopSec must be longer than run's grace period (${graceOf(run, argv)} s)`);
  await assert.rejects(
    () => assertCliAccepts(["run", "--no-such-flag"], "a made-up line"),
    /has no flag --no-such-flag/,
    "the command-line check rejects unknown flags",
  );
  assert.equal(one(timer, "Timer", "OnCalendar"), "minutely");
  assert.equal(one(timer, "Timer", "Persistent"), "true");
  assert.equal(one(timer, "Timer", "Unit") ?? "offline-jobs.service", "offline-jobs.service");
  assert.equal(one(timer, "Install", "WantedBy"), "timers.target");
});

test("offline-jobs-worker.service runs `offline-jobs work`, restarts always, and gives SIGTERM longer than work's grace period", async () => {
  const worker = parseUnit(read("systemd/offline-jobs-worker.service"));
  const argv = one(worker, "Service", "ExecStart")!.split(/\s+/);
  assert.deepEqual(argv.slice(0, 2), ["offline-jobs", "work"]);
  const work = await assertCliAccepts(argv.slice(1), "offline-jobs-worker.service");
  assert.equal(one(worker, "Service", "Restart"), "always");
  assert.equal(one(worker, "Service", "KillSignal"), "SIGTERM");
  // Only the worker gets SIGTERM; its jobs' subprocesses must live through the grace period.
  assert.equal(one(worker, "Service", "KillMode"), "mixed");
  const grace = graceOf(work, argv);
  assert.ok(stopSeconds(worker) > grace, `TimeoutStopSec=${one(worker, "Service", "TimeoutStopSec")} must be longer than the grace period (${grace} s)`);
  assert.equal(one(worker, "Install", "WantedBy"), "multi-user.target");
});

test("both services are sandboxed, run as a dedicated user and may write only the roots, downloads and their lock folder", () => {
  for (const name of ["offline-jobs.service", "offline-jobs-worker.service"]) {
    const unit = parseUnit(read(`systemd/${name}`));
    for (const [key, value] of Object.entries({ NoNewPrivileges: "yes", ProtectSystem: "strict", ProtectHome: "yes", PrivateTmp: "yes" })) {
      assert.equal(one(unit, "Service", key), value, `${name}: ${key}=${value}`);
    }
    const user = one(unit, "Service", "User");
    assert.ok(user && user !== "root" && user !== "0", `${name}: a dedicated User=, not ${user}`);
    const writable = (unit.Service?.ReadWritePaths ?? []).join(" ").split(/\s+/);
    for (const folder of ["-/srv/filestore", "-/srv/downloads"]) assert.ok(writable.includes(folder), `${name}: ReadWritePaths has ${folder}`);
    // The lock folder: /run/offline-jobs, shared by both units and kept between runs.
    assert.equal(one(unit, "Service", "RuntimeDirectory"), "offline-jobs");
    assert.equal(one(unit, "Service", "RuntimeDirectoryPreserve"), "yes");
  }
});

test("offline-jobs-web.service serves the jobs page on loopback under /jobs, sandboxed, writing nothing", async () => {
  const web = parseUnit(read("systemd/offline-jobs-web.service"));
  const argv = one(web, "Service", "ExecStart")!.split(/\s+/);
  assert.deepEqual(argv.slice(0, 2), ["offline-jobs", "web"]);
  await assertCliAccepts(argv.slice(1), "offline-jobs-web.service");
  assert.equal(argv[argv.indexOf("--listen") + 1], "127.0.0.1:8080", "loopback: the proxy is what browsers reach");
  assert.equal(argv[argv.indexOf("--base-path") + 1], "/jobs");
  assert.equal(one(web, "Service", "Restart"), "on-failure");
  for (const [key, value] of Object.entries({ NoNewPrivileges: "yes", ProtectSystem: "strict", ProtectHome: "yes", PrivateTmp: "yes" })) {
    assert.equal(one(web, "Service", key), value, `${key}=${value}`);
  }
  assert.equal(web.Service?.ReadWritePaths, undefined, "the page writes no file");
  const user = one(web, "Service", "User");
  assert.ok(user && user !== "root", `a dedicated User=, not ${user}`);
});

test("the Windows task is well-formed XML that runs `offline-jobs run --quiet` every minute, in parallel like cron", async () => {
  const text = read("windows/offline-jobs-task.xml");
  const task = parseXml(text);
  assert.equal(task.name, "Task");
  assert.equal(task.attributes.xmlns, "http://schemas.microsoft.com/windows/2004/02/mit/task");
  assert.equal(childAt(task, "Triggers/TimeTrigger/Repetition/Interval")?.text, "PT1M");
  assert.equal(childAt(task, "Triggers/TimeTrigger/Repetition/Duration"), undefined, "repeats for ever");
  assert.equal(childAt(task, "Settings/MultipleInstancesPolicy")?.text, "Parallel");
  assert.equal(childAt(task, "Settings/ExecutionTimeLimit")?.text, "PT0S");
  assert.match(childAt(task, "Actions/Exec/Command")?.text ?? "", /\\offline-jobs\.cmd$/);
  const args = (childAt(task, "Actions/Exec/Arguments")?.text ?? "").split(/\s+/);
  assert.deepEqual(args.slice(0, 2), ["run", "--quiet"]);
  await assertCliAccepts(args, "windows/offline-jobs-task.xml");
  // The checker itself must catch a broken file, or this test proves nothing.
  assert.throws(() => parseXml(text.replace("</Exec>", "")), /not well-formed XML/);
  assert.throws(() => parseXml(text.replace("<Priority>7</Priority>", "<Priority>7 & 8</Priority>")), /bare/);
  assert.match(read("README.md"), /schtasks \/Create \/XML windows\\offline-jobs-task\.xml/, "the README gives the schtasks line for this file");
});

const FIELD_RANGES: Array<[number, number, string[]]> = [
  [0, 59, []],
  [0, 23, []],
  [1, 31, []],
  [1, 12, ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]],
  [0, 7, ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]],
];

/** One cron time field: *, n, n-m, lists, /step, or (month, weekday) three-letter names. */
function validCronField(field: string, [min, max, names]: [number, number, string[]]): boolean {
  return field.split(",").every((part) => {
    const match = /^(\*|(\w+)(?:-(\w+))?)(?:\/(\d+))?$/.exec(part);
    if (!match) return false;
    // A name that is not known becomes min - 1, which the range check rejects.
    const value = (v: string) => (/^\d+$/.test(v) ? Number(v) : names.indexOf(v.toLowerCase()) + min);
    const [low, high] = match[2] === undefined ? [min, max] : [value(match[2]), value(match[3] ?? match[2])];
    const step = match[4] === undefined ? 1 : Number(match[4]);
    return low >= min && high <= max && low <= high && step >= 1;
  });
}

test("every schedule line of crontab.example has five valid time fields and runs offline-jobs with --quiet", async () => {
  const lines = read("crontab.example").split("\n");
  const active = lines.filter((l) => l.trim() !== "" && !l.startsWith("#") && !/^[A-Z_]+=/.test(l));
  // The alternatives shown as comments ("#   * * * * * offline-jobs …") must be just as valid.
  const examples = lines.filter((l) => /^#\s+[\d*]/.test(l)).map((l) => l.replace(/^#\s+/, ""));
  assert.ok(active.length >= 1, "crontab.example has a schedule line");
  for (const line of [...active, ...examples]) {
    const fields = line.trim().split(/\s+/);
    fields.slice(0, 5).forEach((field, i) => assert.ok(validCronField(field, FIELD_RANGES[i]!), `field ${i + 1} "${field}" of: ${line}`));
    // The /etc/cron.d form has a user between the time and the command.
    const command = fields[5] === "offline-jobs" ? fields.slice(5) : fields.slice(6);
    assert.equal(command[0], "offline-jobs", `a command after five time fields (or a user): ${line}`);
    assert.ok(command.includes("--quiet"), `--quiet, so that cron mails only errors: ${line}`);
    await assertCliAccepts(command.slice(1), `crontab.example: ${line}`);
  }
  assert.ok(
    !validCronField("60", FIELD_RANGES[0]!) && !validCronField("*/0", FIELD_RANGES[0]!) && !validCronField("moon", FIELD_RANGES[4]!),
    "the field check rejects 60, */0 and unknown names",
  );
  assert.ok(
    validCronField("*/5", FIELD_RANGES[0]!) && validCronField("mon-fri", FIELD_RANGES[4]!) && validCronField("1,15", FIELD_RANGES[2]!),
    "and accepts */5, mon-fri, 1,15",
  );
});

test("every dependency with an install script has a decision in package.json's allowScripts, so npm ci installs quietly", () => {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { hasInstallScript?: boolean }> };
  const allowScripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};
  const withScripts = Object.entries(lock.packages)
    .filter(([, entry]) => entry.hasInstallScript)
    .map(([where]) => where.slice(where.lastIndexOf("node_modules/") + "node_modules/".length));
  assert.ok(withScripts.length > 0, "sharp has an install script: the lock file should say so");
  const undecided = withScripts.filter((name) => !Object.keys(allowScripts).some((key) => key === name || key.startsWith(`${name}@`)));
  assert.deepEqual(undecided, [], "npm warns about every package listed here on each install");
});
