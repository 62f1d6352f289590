/**
 * An attempt's stop switch. The runner throws it (cancelled, lease lost, shutdown) and so does
 * the type's timeout; the handler sees it as its AbortSignal, and executeJob stops waiting
 * for the handler at once.
 *
 * Why not an AbortController per attempt, with executeJob listening on its signal: in Node 20
 * adding an "abort" listener costs about 6 µs (EventTarget's option parsing and bookkeeping),
 * and a cold process pays about as much again to create the controller and read its signal,
 * measured on the 2-core bench machine against 14 µs for the rest of a no-op job's path
 * through the runner. Every job paid that, though almost none is ever stopped. So executeJob
 * waits on a plain callback, and the controller is created only for a handler that asks for
 * its signal (ctx.signal, ctx.exec); a switch thrown before that hands out a signal aborted
 * with the same reason.
 */
export class StopSwitch {
  private controller: AbortController | undefined;
  private thrown = false;
  private reason: unknown;
  private onStop: ((reason: unknown) => void) | undefined;

  /** The handler's signal: aborted, with the reason, when the switch is thrown. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.thrown) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Throws the switch; the first reason wins. */
  stop(reason: unknown): void {
    if (this.thrown) return;
    this.thrown = true;
    this.reason = reason;
    this.controller?.abort(reason);
    this.onStop?.(reason);
  }

  /** Rejects with the reason once the switch is thrown (at once if it already was). For one waiter. */
  whenStopped(): Promise<never> {
    return new Promise((_, reject) => {
      if (this.thrown) reject(this.reason);
      else this.onStop = reject;
    });
  }
}
