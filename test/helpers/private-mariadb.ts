import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import mysql from "mysql2/promise";
import { after, before } from "node:test";
import { makeTempDir, sleep } from "./cli.js";

/**
 * A MariaDB server of the test's own, on a data directory in a temporary folder and a free
 * port on 127.0.0.1, so that a test can kill and restart it without touching the shared
 * server other test files use at the same time. root, no password (as on the shared one).
 *
 * Small on purpose (32 MB buffer pool, 8 MB redo log, no binary log); durability left at its
 * default (innodb_flush_log_at_trx_commit=1), because what a crash keeps is the point.
 */
export interface PrivateMariadb {
  /** mysql://root@127.0.0.1:PORT (no database). */
  readonly serverUrl: string;
  readonly port: number;
  /** The running server's pid (undefined while it is down). */
  readonly pid: number | undefined;
  /** Starts the server (again) on the same data directory and port; resolves once it answers. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown, no flush; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Stops the server and removes its folder. */
  destroy(): Promise<void>;
}

const SERVER_OPTIONS = ["--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M", "--skip-name-resolve"];

/** Why a private server cannot be had here (no MariaDB binaries), or undefined. */
export function privateMariadbUnavailable(): string | undefined {
  if (!findProgram(["mariadbd", "mysqld"])) return "mariadbd is not installed";
  if (!findProgram(["mariadb-install-db", "mysql_install_db"])) return "mariadb-install-db is not installed";
  if (process.platform !== "linux") return "private servers are only set up on Linux";
  return undefined;
}

/**
 * Creates a data directory and starts a server on it. `serverOptions` are added to (and, where
 * they name the same variable, override) the small defaults, e.g. a bench's buffer pool.
 */
export async function startPrivateMariadb(options: { serverOptions?: string[] } = {}): Promise<PrivateMariadb> {
  const reason = privateMariadbUnavailable();
  if (reason) throw new Error(`cannot start a private MariaDB: ${reason}`);
  const dir = makeTempDir("oj-mariadb-");
  const datadir = path.join(dir, "data");
  // A temporary folder of its own: two servers bootstrapping at once in /tmp collided on
  // their internal temporary tables' file names.
  const tmpdir = path.join(dir, "tmp");
  fs.mkdirSync(tmpdir);
  const install = spawnSync(
    findProgram(["mariadb-install-db", "mysql_install_db"])!,
    [
      "--no-defaults",
      `--datadir=${datadir}`,
      `--tmpdir=${tmpdir}`,
      "--auth-root-authentication-method=normal",
      "--user=root",
      "--skip-test-db",
      ...SERVER_OPTIONS,
    ],
    { encoding: "utf8" },
  );
  if (install.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed (${install.status ?? install.signal}):\n${install.stderr || install.stdout}`);
  }
  const port = await freePort();
  const server = new Server(dir, datadir, port, options.serverOptions ?? []);
  try {
    await server.start();
  } catch (error) {
    await server.destroy();
    throw error;
  }
  return server;
}

class Server implements PrivateMariadb {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    private readonly datadir: string,
    readonly port: number,
    private readonly serverOptions: string[],
  ) {}

  get serverUrl(): string {
    return `mysql://root@127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error("the private MariaDB is already running");
    const log = path.join(this.dir, "error.log");
    const child = spawn(
      findProgram(["mariadbd", "mysqld"])!,
      [
        "--no-defaults",
        `--datadir=${this.datadir}`,
        `--tmpdir=${path.join(this.dir, "tmp")}`,
        `--socket=${path.join(this.dir, "sock")}`,
        `--pid-file=${path.join(this.dir, "mariadbd.pid")}`,
        `--log-error=${log}`,
        `--port=${this.port}`,
        "--bind-address=127.0.0.1",
        "--user=root",
        "--skip-log-bin",
        ...SERVER_OPTIONS,
        ...this.serverOptions,
      ],
      { stdio: "ignore" },
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    let gone = false;
    void this.exited.then(() => {
      gone = true;
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (gone) throw new Error(`the private MariaDB exited while starting; its log ends:\n${tailOf(log)}`);
      try {
        const connection = await mysql.createConnection({ uri: this.serverUrl, connectTimeout: 2000 });
        await connection.end();
        return;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`the private MariaDB did not answer within 60 s (${(error as Error).message}); its log ends:\n${tailOf(log)}`);
        await sleep(100);
      }
    }
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill("SIGKILL");
    await this.exited;
    this.child = undefined;
  }

  async destroy(): Promise<void> {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A TCP port nobody listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** The first of `names` found in PATH or the sbin folders (mariadbd lives in /usr/sbin). */
function findProgram(names: string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/usr/local/sbin", "/usr/libexec"];
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

function tailOf(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export interface PrivateDatabase {
  /** The server (undefined when private servers cannot be had here: the tests skip). */
  readonly server: PrivateMariadb | undefined;
  /** mysql://root@127.0.0.1:PORT/<database>. */
  readonly url: string;
  /** A temporary folder for the test file's configs, lock folders and traces. */
  readonly dir: string;
}

/**
 * A private server with one database on it, and a temporary folder, for one test file: made
 * before its tests (unless `privateMariadbUnavailable()`), destroyed after them. `serverOptions`
 * as for startPrivateMariadb (e.g. "--max-allowed-packet=1M").
 */
export function usePrivateDatabase(database: string, serverOptions: string[] = []): PrivateDatabase {
  const state: { server?: PrivateMariadb; url?: string; dir?: string } = {};
  before(async () => {
    if (privateMariadbUnavailable()) return;
    state.server = await startPrivateMariadb({ serverOptions });
    const admin = await mysql.createConnection(state.server.serverUrl);
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
    await admin.end();
    state.url = `${state.server.serverUrl}/${database}`;
    state.dir = makeTempDir(`oj-${database}-`);
  });
  after(async () => {
    // A test that froze the server (SIGSTOP) and failed before thawing it: thaw, or it cannot stop.
    if (state.server?.pid) process.kill(state.server.pid, "SIGCONT");
    await state.server?.destroy();
    if (state.dir) fs.rmSync(state.dir, { recursive: true, force: true });
  });
  return {
    get server() {
      return state.server;
    },
    get url() {
      return state.url!;
    },
    get dir() {
      return state.dir!;
    },
  };
}
