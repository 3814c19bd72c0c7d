import { NotLeaderError } from './handle.js';

/** A caller of `submit`, waiting for its op's outcome. */
export interface OpWaiter<Outcome> {
  resolve(outcome: Outcome): void;
  reject(err: Error): void;
}

/** Submitted ops that are in the log, each waiting by its index for its entry to be applied. */
export class PendingOps<Outcome> {
  private readonly byIndex = new Map<number, OpWaiter<Outcome> & { epoch: number }>();

  /** `waiters`' ops were logged in `epoch` at consecutive indexes from `firstIndex`. */
  add(firstIndex: number, epoch: number, waiters: readonly OpWaiter<Outcome>[]): void {
    waiters.forEach((w, i) => this.byIndex.set(firstIndex + i, { epoch, resolve: w.resolve, reject: w.reject }));
  }

  /**
   * The entry at `index` was applied (`outcome` when it was an op): its caller
   * hears the outcome when the entry is the one it logged (the same epoch), and
   * otherwise that leadership changed before its op was committed.
   */
  settle(index: number, entryEpoch: number, outcome: Outcome | undefined): void {
    const waiter = this.byIndex.get(index);
    if (!waiter) return;
    this.byIndex.delete(index);
    if (outcome !== undefined && entryEpoch === waiter.epoch) waiter.resolve(outcome);
    else waiter.reject(new NotLeaderError('leadership changed before the op was committed; retry', undefined));
  }

  rejectAll(err: Error): void {
    for (const waiter of this.byIndex.values()) waiter.reject(err);
    this.byIndex.clear();
  }
}
