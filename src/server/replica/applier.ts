/**
 * Committed entries on their way into the state machine: applied in log order,
 * in large batches (one state-store transaction each, with the applied
 * position), and only as far as this replica's own log is durable, so the
 * state never holds an entry the log could lose to a crash. What the core asked
 * for after those entries waits its turn behind them: a ready leader's first
 * reads, taking a snapshot at least as new as the core asked for, forgetting
 * log entries the state holds.
 *
 * A batch commits without an fsync (the log is the durable record); a
 * compaction point commits with one, before the log may delete what it folds in.
 *
 * How it paces applying is the driver's to say (`pace`). A follower catching
 * up on a long log puts its log first (`'yield'`):
 * appending and acknowledging is what brings it back into the in-sync set and
 * makes writes safe again, while applying (several times the CPU per entry)
 * only brings its own state forward. While it yields it applies nothing (even
 * small batches halved the catch-up: each is a transaction); the backlog
 * follows at full pace once its log has caught up.
 *
 * A follower in step gathers (`'gather'`): nothing it serves reads its state
 * (clients read and subscribe at the leader), so it applies once enough
 * entries are queued or the oldest has waited long enough, in one transaction
 * instead of one per append. Each transaction writes every index leaf it
 * touches, so larger batches cost much less per entry.
 */
import { decodeConfig } from '../replication/membership.js';
import type { AppliedEntry, SnapshotPosition, StateMachine } from '../replication/state-machine.js';
import type { StateStore } from '../replication/state-store.js';
import type { Action, Entry } from '../replication/types.js';

type SendSnapshot = Extract<Action, { type: 'sendSnapshot' }>;

/** What waits to be applied or done, in order. */
type Item =
  | { type: 'entries'; entries: Entry[] }
  /** This replica leads `epoch` and has applied everything committed before it. */
  | { type: 'ready'; epoch: number }
  | { type: 'compact'; index: number }
  | { type: 'sendSnapshot'; action: SendSnapshot };

export interface ApplierHooks<Op, Outcome> {
  /** How far this replica's log is durable. */
  stableIndex(): number;
  /** An entry was applied (with its op and outcome when it was an op), in log order, after its batch committed. */
  applied(entry: Entry, result: AppliedEntry<Op, Outcome> | undefined): void;
  ready(epoch: number): void;
  /** The state holds entries up to `index` durably: the log may drop them. */
  compacted(index: number): void;
  sendSnapshot(action: SendSnapshot): void;
  /** Runs `fn` on a later turn of the event loop. */
  defer(fn: () => void): void;
  /** Runs `fn` in `ms` milliseconds. */
  later(fn: () => void, ms: number): void;
  /** The clock (ms) that bounds how long one turn applies. */
  now(): number;
}

/**
 * How runs apply entries: `'full'` everything durable at once (a leader, a
 * candidate); `'gather'` in larger batches (a follower in step); `'yield'` none
 * (a follower far behind, whose log comes first). What is queued ahead of
 * entries is carried out in every pace.
 */
export type ApplyPace = 'full' | 'gather' | 'yield';

/** How a gathering replica batches: it applies once this many entries wait, or the oldest has waited this long. */
export interface GatherLimits {
  entries: number;
  ms: number;
}

export const DEFAULT_GATHER: GatherLimits = { entries: 256, ms: 50 };

export class Applier<Op, Outcome> {
  private items: Item[] = [];
  private position: SnapshotPosition;
  private scheduled = false;
  private stopped = false;
  private pacing: ApplyPace = 'full';
  /** Entries queued (in `items`). */
  private queued = 0;
  /** When each entries item in `items` was queued (the same objects as keys). */
  private readonly queuedAt = new WeakMap<Item, number>();
  /** A run is due at the end of a gathering wait. */
  private wakeAt: number | undefined;
  /** Transactions and entries applied since start. */
  readonly counters = { batches: 0, entries: 0 };

  constructor(
    private readonly stateMachine: StateMachine<Op, Outcome>,
    private readonly store: StateStore,
    private readonly hooks: ApplierHooks<Op, Outcome>,
    position: SnapshotPosition,
    /** Entries per turn of the event loop, at most. */
    private readonly batchLimit = 2_000,
    /**
     * How long one turn may apply (ms) before the event loop gets its turn
     * (network, acks, the log's callbacks): a backlog never keeps a replica
     * from answering its leader for long.
     */
    private readonly sliceMs = 10,
    private readonly gatherLimits: GatherLimits = DEFAULT_GATHER,
  ) {
    this.position = position;
  }

  /** The last entry applied, its epoch and the configuration there. */
  get applied(): SnapshotPosition {
    return this.position;
  }

  /** Entries queued and not applied yet. */
  get backlog(): number {
    return this.queued;
  }

  push(item: Item): void {
    if (item.type === 'entries') {
      this.queued += item.entries.length;
      this.queuedAt.set(item, this.hooks.now());
    }
    this.items.push(item);
  }

  /**
   * A snapshot replaced the state (`position`): entries still queued are older
   * than it and are dropped; the rest keeps its order.
   */
  restored(position: SnapshotPosition): void {
    this.items = this.items.filter((i) => i.type !== 'entries');
    this.queued = 0;
    this.position = position;
  }

  stop(): void {
    this.stopped = true;
    this.items = [];
    this.queued = 0;
  }

  /**
   * How the next runs apply: gathering waits until `gatherLimits.entries` are
   * queued or the oldest has waited `gatherLimits.ms`; back at full pace, the
   * next run applies everything durable at once.
   */
  pace(pace: ApplyPace): void {
    this.pacing = pace;
  }

  /** Applies and carries out what it can now: everything up to the durable end of the log, a batch at a time. */
  run(): void {
    if (this.scheduled || this.stopped) return;
    let budget = this.batchLimit;
    const deadline = this.hooks.now() + this.sliceMs;
    while (this.items.length > 0 && !this.stopped) {
      const item = this.items[0]!;
      if (item.type !== 'entries') {
        this.items.shift();
        this.carryOut(item);
        continue;
      }
      // Yielding to the log: applying waits until the driver says the log has caught up.
      if (this.pacing === 'yield') return;
      if (this.pacing === 'gather' && this.waitForMore()) return;
      if (budget === 0 || this.hooks.now() >= deadline) {
        this.scheduled = true;
        this.hooks.defer(() => {
          this.scheduled = false;
          this.run();
        });
        return;
      }
      const applied = this.applyBatch(budget, deadline);
      if (applied === 0) return; // waiting for the log to be durable
      budget -= applied;
    }
  }

  /** Gathering: whether the queued entries wait for more; if so, a run is due when the oldest has waited long enough. */
  private waitForMore(): boolean {
    if (this.queued >= this.gatherLimits.entries) return false;
    const due = (this.queuedAt.get(this.items[0]!) ?? 0) + this.gatherLimits.ms;
    if (this.hooks.now() >= due) return false;
    if (this.wakeAt === undefined || this.wakeAt > due) {
      this.wakeAt = due;
      this.hooks.later(() => {
        if (this.wakeAt !== due) return;
        this.wakeAt = undefined;
        this.run();
      }, due - this.hooks.now());
    }
    return true;
  }

  private carryOut(item: Exclude<Item, { type: 'entries' }>): void {
    switch (item.type) {
      case 'ready':
        this.hooks.ready(item.epoch);
        break;
      case 'compact':
        // Everything applied so far durable (one fsync of the WAL), then the log may let go of it.
        this.store.transaction(() => this.store.setApplied(this.position), true);
        this.hooks.compacted(Math.min(item.index, this.position.lastIndex));
        break;
      case 'sendSnapshot':
        this.hooks.sendSnapshot(item.action);
        break;
    }
  }

  /**
   * One transaction of entries from the head of the queue, as far as the log
   * is durable, ending early at `deadline` (at least one entry). Returns how many.
   */
  private applyBatch(limit: number, deadline: number): number {
    const stable = this.hooks.stableIndex();
    const batch: Entry[] = [];
    for (const item of this.items) {
      if (item.type !== 'entries') break;
      for (const e of item.entries) {
        if (e.index > stable || batch.length >= limit) break;
        batch.push(e);
      }
      if (batch.length === 0 || batch[batch.length - 1] !== item.entries[item.entries.length - 1]) break;
    }
    if (batch.length === 0) return 0;
    const results: (AppliedEntry<Op, Outcome> | undefined)[] = [];
    let position = this.position;
    this.store.transaction(() => {
      for (const e of batch) {
        if (e.index !== position.lastIndex + 1)
          throw new Error(`applying entry ${e.index} after ${position.lastIndex}`);
        results.push(e.kind === 'op' ? this.stateMachine.apply(e) : undefined);
        position = {
          lastIndex: e.index,
          lastEpoch: e.epoch,
          config: e.kind === 'config' ? decodeConfig(e) : position.config,
        };
        if (this.hooks.now() >= deadline) break;
      }
      this.store.setApplied(position);
    }, false);
    const applied = results.length;
    this.consume(applied);
    this.position = position;
    this.counters.batches++;
    this.counters.entries += applied;
    for (let i = 0; i < applied; i++) this.hooks.applied(batch[i]!, results[i]);
    return applied;
  }

  /** Drops the first `n` entries from the queue. */
  private consume(n: number): void {
    this.queued -= n;
    while (n > 0) {
      const item = this.items[0] as Extract<Item, { type: 'entries' }>;
      if (item.entries.length <= n) {
        n -= item.entries.length;
        this.items.shift();
      } else {
        item.entries = item.entries.slice(n);
        n = 0;
      }
    }
  }
}
