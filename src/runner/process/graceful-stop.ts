import type { Logger } from "../../logger.js";

/** What a stop acts on: the QueueRunner of the moment. */
export interface Stoppable {
  stop(reason: string): void;
  interruptRunning(reason: string): void;
  readonly runningCount: number;
}

/**
 * A stop asked for from outside: claim nothing more and let the running jobs end. A signal
 * (SIGTERM, SIGINT: `mode` "grace") gives them `graceSeconds`, then interrupts them — they go
 * back to pending with the attempt not counted, so a clean stop never leaves a job `running`;
 * a second signal interrupts at once. A soft stop (`offline-jobs restart`, --memory,
 * --max-time: "finish") waits for them, as Laravel's queue:restart does. The same object
 * serves `run` and `work`; a worker attaches each runner it starts.
 */
export class GracefulStop {
  private reasonText: string | undefined;
  private target: Stoppable | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private graceArmed = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly graceSeconds: number,
    private readonly logger: Logger,
  ) {}

  /** Why the stop was asked for, once it was. */
  get reason(): string | undefined {
    return this.reasonText;
  }

  attach(target: Stoppable): void {
    this.target = target;
    if (this.reasonText) target.stop(this.reasonText);
  }

  detach(target: Stoppable): void {
    if (this.target === target) this.target = undefined;
  }

  request(reason: string, mode: "grace" | "finish" = "grace"): void {
    if (!this.reasonText) {
      this.reasonText = reason;
      for (const wake of this.waiters) wake();
      this.target?.stop(reason);
    } else if (mode === "grace" && this.graceArmed) {
      this.logger.warn(`${reason} again: interrupting the running jobs now`);
      this.interrupt(`${reason} (asked twice)`);
      return;
    }
    if (mode === "grace" && !this.graceArmed) {
      this.graceArmed = true;
      this.startGrace(reason);
    }
  }

  /** Resolves after `ms`, or at once when a stop is requested. */
  sleep(ms: number): Promise<void> {
    if (this.reasonText) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }

  /** Stops the grace timer so the process can exit. */
  dispose(): void {
    clearTimeout(this.graceTimer);
  }

  private startGrace(reason: string): void {
    const running = this.target?.runningCount ?? 0;
    if (running > 0) this.logger.info(`${reason}: letting ${running} running job(s) finish for up to ${this.graceSeconds} s`);
    this.graceTimer = setTimeout(() => this.interrupt(`${reason}: grace period of ${this.graceSeconds} s over`), this.graceSeconds * 1000);
    this.graceTimer.unref();
  }

  private interrupt(why: string): void {
    clearTimeout(this.graceTimer);
    this.target?.interruptRunning(why);
  }
}

/** SIGTERM and SIGINT ask `stop` for a graceful stop; returns a function that removes the handlers. */
export function stopOnSignals(stop: GracefulStop): () => void {
  const handlers = (["SIGTERM", "SIGINT"] as const).map((signal) => {
    const handler = () => stop.request(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    stop.dispose();
  };
}
