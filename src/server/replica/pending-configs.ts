import { NotLeaderError } from './handle.js';
import type { DriverRuntime, TimerHandle } from './runtime.js';

interface ConfigWaiter {
  epoch: number;
  resolve(): void;
  reject(err: Error): void;
  timer: TimerHandle;
}

/** Membership changes in the log, each waiting by its index for its config entry to be applied. */
export class PendingConfigs {
  private readonly byIndex = new Map<number, ConfigWaiter>();

  constructor(private readonly runtime: DriverRuntime) {}

  /** Waits for the config entry logged at `index` in `epoch`; rejects with `timedOut()` after `timeoutMs`. */
  wait(index: number, epoch: number, timeoutMs: number, timedOut: () => Error): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = this.runtime.setTimeout(() => {
        this.byIndex.delete(index);
        reject(timedOut());
      }, timeoutMs);
      this.byIndex.set(index, { epoch, resolve, reject, timer });
    });
  }

  /** The config entry at `index` was applied: the change is done if it is the entry that was logged (the same epoch). */
  settle(index: number, entryEpoch: number): void {
    const waiter = this.byIndex.get(index);
    if (!waiter) return;
    this.byIndex.delete(index);
    this.runtime.clearTimeout(waiter.timer);
    if (entryEpoch === waiter.epoch) waiter.resolve();
    else
      waiter.reject(
        new NotLeaderError(
          'leadership changed before the configuration change was committed; check the cluster status and retry',
          undefined,
        ),
      );
  }

  rejectAll(err: Error): void {
    for (const waiter of this.byIndex.values()) {
      this.runtime.clearTimeout(waiter.timer);
      waiter.reject(err);
    }
    this.byIndex.clear();
  }
}
