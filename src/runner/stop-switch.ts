/**
 * An attempt's stop switch. The runner throws it (cancelled, lease lost, shutdown) and so does
 * the type's timeout; the handler sees it as its AbortSignal, and executeJob stops waiting
 * for the handler at once.
 *
 * Why executeJob does not listen on the signal itself: in Node 20, adding an "abort" listener
 * to an AbortSignal costs about 6 µs (EventTarget's option parsing and bookkeeping), measured
 * on the 2-core bench machine against 14 µs for the rest of a no-op job's path through the
 * runner. Every job paid it, though almost none is ever stopped. A plain callback costs
 * nothing; handlers that want the signal still get a real one.
 */
export class StopSwitch {
  private readonly controller = new AbortController();
  private onStop: ((reason: unknown) => void) | undefined;

  /** The handler's signal: aborted, with the reason, when the switch is thrown. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  /** Throws the switch; the first reason wins. */
  stop(reason: unknown): void {
    if (this.stopped) return;
    this.controller.abort(reason);
    this.onStop?.(reason);
  }

  /** Rejects with the reason once the switch is thrown (at once if it already was). For one waiter. */
  whenStopped(): Promise<never> {
    return new Promise((_, reject) => {
      if (this.stopped) reject(this.controller.signal.reason);
      else this.onStop = reject;
    });
  }
}
