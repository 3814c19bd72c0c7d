import { NotLeaderError } from './handle.js';

/** A caller of `submit`, waiting for its op's outcome. */
export interface OpWaiter<Outcome> {
  resolve(outcome: Outcome): void;
  reject(err: Error): void;
}

/** Submitted ops that are in the log, each waiting by its index for its entry to be applied. */
export class PendingOps<Outcome> {
  private readonly byIndex = new Map<number, OpWaiter<Outcome> & { epoch: number; at: number }>();

  /** `waiters`' ops were logged in `epoch` at consecutive indexes from `firstIndex`, at time `at`. */
  add(firstIndex: number, epoch: number, waiters: readonly OpWaiter<Outcome>[], at: number): void {
    waiters.forEach((w, i) => this.byIndex.set(firstIndex + i, { epoch, at, resolve: w.resolve, reject: w.reject }));
  }

  /**
   * The entry at `index` was applied (`outcome` when it was an op): its caller
   * hears the outcome when the entry is the one it logged (the same epoch), and
   * otherwise that leadership changed before its op was committed. Returns when
   * the op was logged, for an op answered with its outcome.
   */
  settle(index: number, entryEpoch: number, outcome: Outcome | undefined): number | undefined {
    const waiter = this.byIndex.get(index);
    if (!waiter) return undefined;
    this.byIndex.delete(index);
    if (outcome !== undefined && entryEpoch === waiter.epoch) {
      waiter.resolve(outcome);
      return waiter.at;
    }
    waiter.reject(new NotLeaderError('leadership changed before the op was committed; retry', undefined));
    return undefined;
  }

  rejectAll(err: Error): void {
    for (const waiter of this.byIndex.values()) waiter.reject(err);
    this.byIndex.clear();
  }
}
