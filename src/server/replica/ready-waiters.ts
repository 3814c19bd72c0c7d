import type { DriverRuntime, TimerHandle } from './runtime.js';

interface ReadyWaiter {
  resolve(): void;
  reject(err: Error): void;
  timer: TimerHandle;
}

/** Callers of `ensureLeaderReady` on a leader that cannot serve yet, until it can or stops leading. */
export class ReadyWaiters {
  private waiters: ReadyWaiter[] = [];

  constructor(private readonly runtime: DriverRuntime) {}

  /** Waits until `resolveAll` or `rejectAll`; rejects with `timedOut()` after `timeoutMs`. */
  wait(timeoutMs: number, timedOut: () => Error): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = this.runtime.setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(timedOut());
      }, timeoutMs);
      this.waiters.push({ resolve, reject, timer });
    });
  }

  resolveAll(): void {
    for (const w of this.waiters) {
      this.runtime.clearTimeout(w.timer);
      w.resolve();
    }
    this.waiters = [];
  }

  rejectAll(err: Error): void {
    for (const w of this.waiters) {
      this.runtime.clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiters = [];
  }
}
