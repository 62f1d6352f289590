import dgram from "node:dgram";
import fs from "node:fs";
import path from "node:path";
import { isRunning } from "./process-identity.js";

/**
 * Waking the workers of this host when jobs are added here: MySQL has no LISTEN/NOTIFY, and a
 * waiting worker only polls (src/runner/loop/new-row-watch.ts), so `add` and enqueue() also
 * send each worker of the host a datagram, and a waiting worker claims at once. Each worker
 * listens on a UDP port of 127.0.0.1 that it records in the lock folder (`wake-PID.port`), the
 * folder every process of the host already shares. UDP rather than a Unix socket: Node has no
 * Unix datagram sockets, and a stream socket would make `add` wait on every worker.
 *
 * What a datagram can do is only what a poll does: make a waiting worker look (one claim),
 * at most once per WAKE_GAP_MS, so a flood from a local user costs a bounded number of claims.
 */
const WAKE = Buffer.from("wake");
export const WAKE_GAP_MS = 20;

export interface WakeListener {
  close(): Promise<void>;
}

function portFile(lockDir: string, pid = process.pid): string {
  return path.join(lockDir, `wake-${pid}.port`);
}

/** Listens for wakes until closed; `onWake` is called at most once per WAKE_GAP_MS (later ones are joined). */
export async function listenForWakes(lockDir: string, onWake: () => void): Promise<WakeListener> {
  const socket = dgram.createSocket("udp4");
  let last = 0;
  let deferred: NodeJS.Timeout | undefined;
  const wake = () => {
    deferred = undefined;
    last = Date.now();
    onWake();
  };
  socket.on("message", (message) => {
    if (!message.equals(WAKE) || deferred) return;
    // Wakes closer together than WAKE_GAP_MS are joined into one, at the end of the gap.
    const wait = last + WAKE_GAP_MS - Date.now();
    if (wait <= 0) wake();
    else deferred = setTimeout(wake, wait);
  });
  socket.on("error", () => undefined);
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  socket.unref();
  const file = portFile(lockDir);
  fs.mkdirSync(lockDir, { recursive: true });
  fs.writeFileSync(file, String(socket.address().port));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        clearTimeout(deferred);
        fs.rmSync(file, { force: true });
        socket.close(() => resolve());
      }),
  };
}

/** Wakes every worker of this host whose port file is in `lockDir`; removes the files of dead ones. Never throws. */
export async function wakeWorkers(lockDir: string): Promise<number> {
  let names: string[];
  try {
    names = fs.readdirSync(lockDir);
  } catch {
    return 0;
  }
  const ports: number[] = [];
  for (const name of names) {
    const match = /^wake-(\d+)\.port$/.exec(name);
    if (!match) continue;
    const file = path.join(lockDir, name);
    if (!isRunning({ pid: Number(match[1]) })) {
      fs.rmSync(file, { force: true });
      continue;
    }
    let port: number;
    try {
      port = Number(fs.readFileSync(file, "utf8").trim());
    } catch {
      continue; // its worker stopped meanwhile
    }
    if (Number.isInteger(port) && port > 0 && port < 65_536) ports.push(port);
  }
  if (ports.length === 0) return 0;
  const socket = dgram.createSocket("udp4");
  socket.on("error", () => undefined);
  await Promise.all(ports.map((port) => new Promise<void>((resolve) => socket.send(WAKE, port, "127.0.0.1", () => resolve()))));
  socket.close();
  return ports.length;
}
