/**
 * The applier's pace: committed entries go into the state in log order, a
 * turn of the event loop applies for at most its slice (so a replica with a
 * backlog still answers its leader), and while the log comes first (a follower
 * catching up) nothing is applied until the driver says it has caught up; a
 * follower in step gathers small appends into larger transactions.
 */
import { describe, expect, it } from 'vitest';
import { Applier } from '../../src/server/replica/applier.js';
import { initialConfig } from '../../src/server/replication/membership.js';
import type { AppliedEntry, SnapshotImage, StateMachine } from '../../src/server/replication/state-machine.js';
import type { StateStore } from '../../src/server/replication/state-store.js';
import type { Entry } from '../../src/server/replication/types.js';

const config = initialConfig([{ id: 'A', address: 'A' }]);
const enc = new TextEncoder();
const dec = new TextDecoder();

function ops(from: number, to: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, epoch: 1, kind: 'op', data: enc.encode(`op-${i}`) });
  return out;
}

/** A state machine and store in memory, on a clock that each apply moves on by `msPerApply`. */
class Bench {
  now = 0;
  readonly applied: string[] = [];
  /** Entries per committed transaction, in order. */
  readonly transactions: number[] = [];
  private deferred: (() => void)[] = [];
  private timers: { at: number; fn: () => void }[] = [];
  private pending = 0;
  readonly applier: Applier<string, string>;

  constructor(
    private readonly msPerApply: number,
    stable = Number.MAX_SAFE_INTEGER,
  ) {
    const machine: StateMachine<string, string> = {
      encode: (op) => enc.encode(op),
      apply: (entry): AppliedEntry<string, string> => {
        this.now += this.msPerApply;
        this.pending++;
        const op = dec.decode(entry.data);
        this.applied.push(op);
        return { op, outcome: `done ${op}` };
      },
      digest: () => this.applied.join(','),
      snapshot: (): Promise<SnapshotImage> => Promise.reject(new Error('not in this test')),
      restore: () => undefined,
    };
    const store: StateStore = {
      open: (_c, _m, initial) => initial,
      identity: () => 'test',
      transaction: (writes) => {
        this.pending = 0;
        writes();
        this.transactions.push(this.pending);
      },
      setApplied: () => undefined,
      quarantine: () => undefined,
      quarantinedCount: () => 0,
    };
    this.applier = new Applier(
      machine,
      store,
      {
        stableIndex: () => stable,
        applied: () => undefined,
        ready: () => undefined,
        compacted: () => undefined,
        sendSnapshot: () => undefined,
        defer: (fn) => this.deferred.push(fn),
        later: (fn, ms) => this.timers.push({ at: this.now + ms, fn }),
        now: () => this.now,
      },
      { lastIndex: 0, lastEpoch: 0, config },
    );
  }

  /** Runs what the applier left for later turns, one turn at a time, until nothing is left. Returns the turns. */
  drain(): number {
    let turns = 0;
    while (this.deferred.length > 0) {
      const next = this.deferred.splice(0);
      for (const fn of next) fn();
      turns++;
    }
    return turns;
  }

  /** Moves the clock on by `ms`, running the timers that come due. */
  advance(ms: number): void {
    this.now += ms;
    const due = this.timers.filter((t) => t.at <= this.now);
    this.timers = this.timers.filter((t) => t.at > this.now);
    for (const t of due) t.fn();
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  get deferredTurns(): number {
    return this.deferred.length;
  }
}

describe('the applier', () => {
  it('applies a backlog in slices of about 10 ms, in log order, leaving the event loop its turn between them', () => {
    const b = new Bench(3);
    b.applier.push({ type: 'entries', entries: ops(1, 100) });
    b.applier.run();
    // 3 ms per entry: the fourth ends the slice (12 ms >= 10 ms); the rest waits for a later turn.
    expect(b.applied).toHaveLength(4);
    expect(b.deferredTurns).toBe(1);
    const turns = b.drain();
    expect(b.applied).toEqual(ops(1, 100).map((e) => dec.decode(e.data)));
    expect(b.applier.applied.lastIndex).toBe(100);
    expect(turns).toBe(24);
    expect(Math.max(...b.transactions)).toBe(4);
  });

  it('applies at least one entry per turn, even one that takes longer than a slice', () => {
    const b = new Bench(25);
    b.applier.push({ type: 'entries', entries: ops(1, 3) });
    b.applier.run();
    expect(b.applied).toEqual(['op-1']);
    b.drain();
    expect(b.applied).toEqual(['op-1', 'op-2', 'op-3']);
    expect(b.transactions).toEqual([1, 1, 1]);
  });

  it('a fast state machine applies the whole backlog in one turn (up to 2,000 entries)', () => {
    const b = new Bench(0);
    b.applier.push({ type: 'entries', entries: ops(1, 2_500) });
    b.applier.run();
    expect(b.applied).toHaveLength(2_000);
    b.drain();
    expect(b.applied).toHaveLength(2_500);
  });

  it('while the log comes first, applies nothing and leaves nothing for later turns', () => {
    const b = new Bench(0);
    b.applier.pace('yield');
    b.applier.push({ type: 'entries', entries: ops(1, 1_000) });
    b.applier.run();
    b.applier.run();
    expect(b.applied).toEqual([]);
    expect(b.deferredTurns).toBe(0);
    expect(b.applier.backlog).toBe(1_000);

    // Caught up: the rest at full pace.
    b.applier.pace('full');
    b.applier.run();
    b.drain();
    expect(b.applied).toHaveLength(1_000);
    expect(b.applier.backlog).toBe(0);
    expect(b.applied[999]).toBe('op-1000');
  });

  it('never applies past the durable end of the log', () => {
    const b = new Bench(0, 7);
    b.applier.push({ type: 'entries', entries: ops(1, 10) });
    b.applier.run();
    expect(b.applier.applied.lastIndex).toBe(7);
    expect(b.applier.backlog).toBe(3);
  });

  it('a follower in step gathers small appends and applies them in one transaction once the oldest waited 50 ms', () => {
    const b = new Bench(0);
    b.applier.pace('gather');
    for (let k = 0; k < 4; k++) {
      b.applier.push({ type: 'entries', entries: ops(10 * k + 1, 10 * k + 10) });
      b.applier.run();
      b.advance(10);
    }
    expect(b.applied).toEqual([]);
    expect(b.applier.backlog).toBe(40);
    // 50 ms after the first append was queued: all 40 in one transaction.
    b.advance(10);
    expect(b.applied).toHaveLength(40);
    expect(b.transactions).toEqual([40]);
    expect(b.applier.backlog).toBe(0);
  });

  it('a follower in step applies at once when 256 entries are queued', () => {
    const b = new Bench(0);
    b.applier.pace('gather');
    b.applier.push({ type: 'entries', entries: ops(1, 200) });
    b.applier.run();
    expect(b.applied).toEqual([]);
    b.applier.push({ type: 'entries', entries: ops(201, 300) });
    b.applier.run();
    expect(b.applied).toHaveLength(300);
    expect(b.transactions).toEqual([300]);
  });

  it('stops gathering as soon as it is told (a follower turned candidate applies everything at once)', () => {
    const b = new Bench(0);
    b.applier.pace('gather');
    b.applier.push({ type: 'entries', entries: ops(1, 5) });
    b.applier.run();
    expect(b.applied).toEqual([]);
    b.applier.pace('full');
    b.applier.run();
    expect(b.applied).toHaveLength(5);
    // The timer set while gathering finds nothing left to do.
    b.advance(100);
    expect(b.transactions).toEqual([5]);
  });
});
