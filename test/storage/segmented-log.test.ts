/**
 * The segmented log over a disk that loses unsynced writes, tears them and
 * fails syncs: whatever a crash leaves, the log reads back as a prefix of what
 * was written that holds every write reported durable.
 */
import { describe, expect, it } from 'vitest';
import { encodeConfig, initialConfig } from '../../src/server/replication/membership.js';
import { Rng } from '../../src/server/replication/rng.js';
import type { Entry, HardState, LogBase } from '../../src/server/replication/types.js';
import { LogDamagedError, SegmentedLog } from '../../src/server/storage/segmented-log.js';
import { MemoryDisk, MemoryLogFiles } from '../support/memory-disk.js';

const config = initialConfig([
  { id: 'A', address: 'a' },
  { id: 'B', address: 'b' },
]);
const initial = { hard: { epoch: 0, promisedTo: '' }, base: { index: 0, epoch: 0, config } satisfies LogBase };

function entry(index: number, epoch = 1, text = `op ${index}`): Entry {
  return { index, epoch, kind: 'op', data: new TextEncoder().encode(text) };
}

/** A disk and the processes that use it, one after another; completions run when `settle` is called. */
class Harness {
  readonly disk: MemoryDisk;
  private pending: (() => void)[] = [];
  log!: SegmentedLog;
  failures: Error[] = [];
  /** The entries of each durable group of writes, as the log's sync observer hears them. */
  syncEntries: number[] = [];

  constructor(
    seed: number,
    faults: ConstructorParameters<typeof MemoryDisk>[1] = {},
    readonly segmentBytes = 400,
  ) {
    this.disk = new MemoryDisk(new Rng(seed), faults);
  }

  open(): ReturnType<SegmentedLog['load']> {
    this.pending = [];
    this.failures = [];
    this.syncEntries = [];
    const observeSync = (_: number, entries: number) => this.syncEntries.push(entries);
    this.log = new SegmentedLog(new MemoryLogFiles(this.disk, (fn) => this.pending.push(fn)), {
      segmentBytes: this.segmentBytes,
      observeSync,
    });
    this.log.onFailure((err) => this.failures.push(err));
    return this.log.load(initial);
  }

  /** Runs completions until nothing is in flight. */
  settle(): void {
    while (this.pending.length > 0) this.pending.shift()!();
  }

  /** Runs some completions only, as a crash would interrupt them. */
  settleSome(n: number): void {
    for (let i = 0; i < n && this.pending.length > 0; i++) this.pending.shift()!();
  }

  crash(): void {
    this.disk.crash();
  }

  /** Appends entries 1..n, one write each, and lets them all become durable. */
  writeDurably(n: number): void {
    for (let i = 1; i <= n; i++) this.log.append({ entries: [entry(i)] });
    this.log.flush();
    this.settle();
  }
}

const indexes = (entries: readonly Entry[]) => entries.map((e) => `${e.index}@${e.epoch}`);

describe('the segmented log', () => {
  it('reads back entries and hard state across segments, and group-commits what is queued during a sync', () => {
    const h = new Harness(1);
    expect(h.open()).toEqual({ ...initial, entries: [] });
    h.log.append({ entries: [entry(1)], hard: { epoch: 1, promisedTo: 'A' } });
    h.log.flush();
    // While that write is in flight, three more are queued: they go out together in one more write and one sync.
    for (let i = 2; i <= 4; i++) h.log.append({ entries: [entry(i)] });
    h.log.flush();
    expect(h.log.durableSeq).toBe(0);
    const syncsBefore = h.disk.syncs;
    h.settle();
    expect(h.log.durableSeq).toBe(4);
    expect(h.log.stableIndex).toBe(4);
    expect(h.disk.syncs - syncsBefore).toBe(2);
    // Its observer (the metrics' histograms) hears two syncs: one entry, then the three queued behind it.
    expect(h.syncEntries).toEqual([1, 3]);
    for (let i = 5; i <= 40; i++) {
      h.log.append({ entries: [entry(i)] });
      h.log.flush();
      h.settle();
    }
    expect(h.disk.files.size).toBeGreaterThanOrEqual(3); // 400-byte segments
    const back = h.open();
    expect(back.hard).toEqual({ epoch: 1, promisedTo: 'A' });
    expect(back.base).toEqual(initial.base);
    expect(indexes(back.entries)).toEqual(indexes(Array.from({ length: 40 }, (_, i) => entry(i + 1))));
    expect(new TextDecoder().decode(back.entries[39]!.data)).toBe('op 40');
  });

  it('replaces a divergent tail, and reads the replacement back', () => {
    const h = new Harness(2);
    h.open();
    h.log.append({ entries: [1, 2, 3, 4, 5].map((i) => entry(i)) });
    h.log.flush();
    h.settle();
    h.log.append({ truncateFrom: 3, entries: [entry(3, 2), entry(4, 2)] });
    expect(h.log.stableIndex).toBe(2); // the old 3..5 no longer count, the new ones not yet
    h.log.flush();
    h.settle();
    expect(h.log.stableIndex).toBe(4);
    expect(indexes(h.open().entries)).toEqual(['1@1', '2@1', '3@2', '4@2']);
  });

  it('deletes segments the state machine holds, and starts the log from the oldest one left', () => {
    const h = new Harness(3);
    h.open();
    const cfgEntry: Entry = {
      index: 1,
      epoch: 1,
      kind: 'config',
      data: encodeConfig({ ...config, inSync: ['A'], index: 1, epoch: 1 }),
    };
    h.log.append({ entries: [cfgEntry] });
    for (let i = 2; i <= 60; i++) h.log.append({ entries: [entry(i)] });
    h.log.flush();
    h.settle();
    const before = h.disk.files.size;
    h.log.compact(45);
    h.settle();
    expect(h.disk.files.size).toBeLessThan(before);
    const back = h.open();
    expect(back.base.index).toBeGreaterThan(0);
    expect(back.base.index).toBeLessThanOrEqual(45);
    expect(back.base.config.inSync).toEqual(['A']); // the configuration in force there, from the segment's start
    expect(back.base.index + back.entries.length).toBe(60);
    expect(back.entries[0]!.index).toBe(back.base.index + 1);
  });

  it('reads back a replacement of entries from before its segment began, with and without the older segments', () => {
    // Large segments: only the restart and the replacement start new ones.
    const h = new Harness(5, {}, 100_000);
    h.open();
    h.writeDurably(30);
    h.open();
    // After a restart the first write, a vote, starts a new segment after entry 30.
    h.log.append({ entries: [], hard: { epoch: 2, promisedTo: 'B' } });
    h.log.flush();
    h.settle();
    // A new leader replaces 25..30: a segment that starts after 30 cannot hold that, so a new one starts after 24.
    h.log.append({ truncateFrom: 25, entries: [entry(25, 2), entry(26, 2)] });
    for (let i = 27; i <= 40; i++) h.log.append({ entries: [entry(i, 2)] });
    h.log.flush();
    h.settle();
    const expected = [
      ...indexes(Array.from({ length: 24 }, (_, i) => entry(i + 1))),
      ...Array.from({ length: 16 }, (_, i) => `${25 + i}@2`),
    ];
    expect(indexes(h.open().entries)).toEqual(expected);

    // Once the state holds up to 35, the older segments go: the log then begins where the replacement began.
    h.log.append({ entries: [entry(41, 2)] });
    h.log.flush();
    h.settle();
    h.log.compact(35);
    h.settle();
    const back = h.open();
    expect(back.base.index).toBe(24);
    expect(indexes(back.entries)).toEqual([...expected.slice(24), '41@2']);
    expect(back.hard).toEqual({ epoch: 2, promisedTo: 'B' });
  });

  it('reads a log whose oldest segment left is wholly replaced by the next one (a crash between two deletions)', () => {
    const h = new Harness(6, {}, 100_000);
    h.open();
    h.writeDurably(19);
    h.open();
    h.log.append({ entries: [], hard: { epoch: 2, promisedTo: 'B' } }); // segment 2 starts after 19
    h.log.append({ truncateFrom: 18, entries: [entry(18, 2), entry(19, 2), entry(20, 2)] }); // segment 3 after 17
    h.log.flush();
    h.settle();
    expect(h.disk.files.size).toBe(3);
    // The state holds up to 19: segments 1 and 2 go, one at a time; the crash comes between the two.
    h.log.compact(19);
    h.settleSome(1);
    h.crash();
    expect(h.disk.files.size).toBe(2);
    const back = h.open();
    expect(back.base.index).toBe(17);
    expect(indexes(back.entries)).toEqual(['18@2', '19@2', '20@2']);
    expect(back.hard).toEqual({ epoch: 2, promisedTo: 'B' });
    expect(h.disk.files.size).toBe(1); // the replaced segment is gone too
  });

  it('starts over from an installed snapshot, keeping the entries after it', () => {
    const h = new Harness(4);
    h.open();
    h.writeDurably(30);
    const base: LogBase = { index: 100, epoch: 3, config };
    h.log.reset(base, [entry(101, 3), entry(102, 3)]);
    h.log.append({ entries: [entry(103, 3)], hard: { epoch: 3, promisedTo: '' } });
    h.log.flush();
    h.settle();
    expect(h.disk.files.size).toBe(1); // everything before the snapshot is gone
    const back = h.open();
    expect(back.base).toEqual(base);
    expect(indexes(back.entries)).toEqual(['101@3', '102@3', '103@3']);
    expect(back.hard).toEqual({ epoch: 3, promisedTo: '' });
  });

  it('reports a failed sync once, and nothing after it as durable', () => {
    const h = new Harness(5, { syncFailure: 1 });
    h.open();
    h.log.append({ entries: [entry(1)] });
    h.log.flush();
    h.settle();
    h.log.append({ entries: [entry(2)] });
    h.log.flush();
    h.settle();
    expect(h.failures).toHaveLength(1);
    expect((h.failures[0] as Error & { code: string }).code).toBe('EIO');
    expect(h.log.durableSeq).toBe(0);
  });

  it('refuses to start on damage before the newest segment, rather than lose entries', () => {
    const h = new Harness(6);
    h.open();
    h.writeDurably(30);
    const oldest = [...h.disk.files.keys()].sort()[0]!;
    h.disk.bytes(oldest)![40] ^= 0xff;
    expect(() => h.open()).toThrow(LogDamagedError);
  });

  it('after crashes at any point holds a prefix of what was written, with every durable write in it', () => {
    const show = (s: { entries: readonly Entry[]; hard: HardState }) =>
      `${indexes(s.entries).join(',')} ${s.hard.epoch}/${s.hard.promisedTo}`;
    for (let seed = 1; seed <= 200; seed++) {
      const rng = new Rng(seed);
      const h = new Harness(seed, { tornWrites: true }, 200 + rng.int(0, 600));
      // The model: the log after each record written (a torn write keeps whole records only, a prefix of them).
      let model = { entries: [] as Entry[], hard: initial.hard };
      let states = [show(model)];
      /** For each write's sequence number, the state after its last record. */
      let lastStateOf = new Map<number, number>();
      let epoch = 1;
      h.open();
      for (let round = 0; round < 12; round++) {
        for (let w = rng.int(1, 8); w > 0; w--) {
          const last = model.entries.length;
          const truncate = last > 0 && rng.chance(0.2) ? rng.int(Math.max(1, last - 3), last + 1) : undefined;
          if (rng.chance(0.2)) epoch++;
          const from = truncate ?? last + 1;
          const added = Array.from({ length: rng.int(1, 5) }, (_, i) =>
            entry(from + i, epoch, `e${from + i}/${epoch}/${seed}`),
          );
          const hard = rng.chance(0.3) ? { epoch, promisedTo: rng.pick(['', 'A', 'B']) } : undefined;
          const seq = h.log.append({ truncateFrom: truncate, entries: added, hard });
          // A write that replaces entries from before its segment's start begins a new segment there: its start record,
          // durable before the entries after it, already drops the replaced ones.
          if (truncate !== undefined) {
            model = { entries: model.entries.slice(0, truncate - 1), hard: model.hard };
            states.push(show(model));
          }
          for (const e of added) {
            model = { entries: [...model.entries.slice(0, e.index - 1), e], hard: model.hard };
            states.push(show(model));
          }
          if (hard) {
            model = { entries: model.entries, hard };
            states.push(show(model));
          }
          lastStateOf.set(seq, states.length - 1);
          if (rng.chance(0.5)) h.log.flush();
        }
        h.log.flush();
        h.settleSome(rng.int(0, 6));
        if (rng.chance(0.5)) h.settle();
        if (!rng.chance(0.6)) continue;
        const durable = lastStateOf.get(h.log.durableSeq) ?? 0;
        h.crash();
        const loaded = h.open();
        const got = show(loaded);
        expect(
          states.slice(durable),
          `seed ${seed} round ${round}: read back ${got}; durable: ${states[durable]}`,
        ).toContain(got);
        // Go on from what was read back.
        model = { entries: loaded.entries, hard: loaded.hard };
        states = [got];
        lastStateOf = new Map();
        epoch = Math.max(epoch, loaded.hard.epoch, ...loaded.entries.map((e) => e.epoch)) + 1;
      }
    }
  });
});
