/**
 * The driver's ordering, step by step, with a disk that finishes its writes
 * only when the script says so: a follower acks and applies only what its own
 * log holds durably; a leader sends its appends at once but counts itself (and
 * answers its clients) only once its own write is durable; a failing sync
 * stops the replica; a power cut takes the leader's unsynced entries with it,
 * unacknowledged.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ReplicaDriver } from '../../src/server/replica/driver.js';
import { encodeConfig, EPOCH_SLOTS, initialConfig } from '../../src/server/replication/membership.js';
import { Rng } from '../../src/server/replication/rng.js';
import type { Entry, PeerMessage } from '../../src/server/replication/types.js';
import { SegmentedLog } from '../../src/server/storage/segmented-log.js';
import { MemoryDisk, MemoryLogFiles, type DiskFaults } from '../support/memory-disk.js';
import { NodeClock, SimDatabase, SimState } from './driver-simulator.js';

const members = ['A', 'B', 'C'].map((id) => ({ id, address: id }));
const EPOCH = EPOCH_SLOTS; // one of A's epochs
const enc = new TextEncoder();

/** One replica whose disk, clock and network the test drives by hand. */
class Scripted {
  now = 0;
  private seq = 0;
  readonly disk: MemoryDisk;
  readonly db = new SimDatabase({ lastIndex: 0, lastEpoch: 0, config: initialConfig(members) });
  private io: (() => void)[] = [];
  sent: PeerMessage[] = [];
  fatal: Error[] = [];
  /** What a metrics module hears: each answered op's seconds since its proposal, each durable log sync's entries. */
  readonly commitSeconds: number[] = [];
  readonly syncEntries: number[] = [];
  clock!: NodeClock;
  state!: SimState;
  driver!: ReplicaDriver<string, string>;

  constructor(
    readonly id: string,
    faults: DiskFaults = {},
  ) {
    this.disk = new MemoryDisk(new Rng(7), { tornWrites: false, ...faults });
    this.boot();
  }

  nextSeq(): number {
    return this.seq++;
  }

  /** Starts the replica (again) over its disk and database. */
  boot(): void {
    this.io = [];
    this.clock = new NodeClock(this);
    this.state = new SimState(this.db, () => undefined);
    this.driver = new ReplicaDriver<string, string>({
      id: this.id,
      cluster: 'script',
      members,
      stateMachine: this.state,
      state: this.state,
      log: new SegmentedLog(new MemoryLogFiles(this.disk, (fn) => this.io.push(fn)), {
        observeSync: (_, entries) => this.syncEntries.push(entries),
      }),
      transport: {
        connect: () => undefined,
        send: (m) => this.sent.push(m),
        sendSnapshot: () => Promise.reject(new Error('none')),
        close: () => undefined,
      },
      logger: pino({ level: 'silent' }),
      runtime: this.clock,
      seed: 1,
      onFatal: (err) => this.fatal.push(err),
      observeCommit: (seconds) => this.commitSeconds.push(seconds),
    });
  }

  /** The driver's passes that are due. */
  turn(): void {
    this.clock.runTimersAndIo();
    this.clock.runImmediates();
  }

  /** The disk finishes everything it was asked to do (and the driver reacts). */
  finishDiskWork(): void {
    while (this.io.length > 0) {
      this.io.shift()!();
      this.turn();
    }
  }

  deliver(message: PeerMessage): void {
    this.driver.deliver(message, message.from);
    this.turn();
  }

  /** A power cut: what the disk had not made durable is gone. */
  powerCut(): void {
    this.clock.dead = true;
    this.disk.crash();
    this.db.crash(new Rng(3));
    this.sent = [];
    this.boot();
  }

  take(): PeerMessage[] {
    const out = this.sent;
    this.sent = [];
    return out;
  }
}

function append(entries: Entry[], prevIndex: number, commitIndex: number): PeerMessage {
  return {
    from: 'A',
    to: 'B',
    epoch: EPOCH,
    force: 0,
    incarnation: '',
    body: {
      type: 'append',
      prevIndex,
      prevEpoch: prevIndex === 0 ? 0 : EPOCH,
      entries,
      commitIndex,
      session: 1,
      confirmedSession: 0,
    },
  };
}

/**
 * Makes `r` hold the cluster's data (its first configuration, committed under B), then lets B go quiet past the
 * election timeout: a replica an operator may force to lead (forcing a new, empty data directory is refused).
 */
function holdClusterData(r: Scripted): void {
  const config: Entry = {
    index: 1,
    epoch: 1,
    kind: 'config',
    data: encodeConfig({ ...initialConfig(members), index: 1, epoch: 1 }),
  };
  r.deliver({
    from: 'B',
    to: r.id,
    epoch: 1,
    force: 0,
    incarnation: '',
    body: {
      type: 'append',
      prevIndex: 0,
      prevEpoch: 0,
      entries: [config],
      commitIndex: 1,
      session: 1,
      confirmedSession: 0,
    },
  });
  r.finishDiskWork();
  // B goes quiet. The script runs no ticks: C's probes are what A hears meanwhile (time that passes with nothing to
  // handle would look like a paused process to the core, whose silence clocks then wait as long again).
  for (let i = 0; i < 10; i++) {
    r.now += 100;
    r.deliver({ from: 'C', to: r.id, epoch: 1, force: 0, incarnation: '', body: { type: 'probe', session: 1 } });
  }
  r.take();
}

/** The cluster's first configuration, as A's first entry in its epoch. */
const firstConfig = (): Entry => ({
  index: 1,
  epoch: EPOCH,
  kind: 'config',
  data: encodeConfig({ ...initialConfig(members), index: 1, epoch: EPOCH }),
});

const flushPromises = async () => {
  for (let i = 0; i < 5; i++) await null;
};

describe('the replica driver orders its writes, messages and answers', () => {
  it('a follower acks and applies only what its own log holds durably, even when it knows the entries committed', () => {
    const b = new Scripted('B');
    const config = firstConfig();
    const op: Entry = { index: 2, epoch: EPOCH, kind: 'op', data: enc.encode('op-1') };
    b.deliver(append([config, op], 0, 0));
    // The leader says both are committed (the other follower acked) before B's own write finished.
    b.deliver(append([], 2, 2));
    expect(b.take().filter((m) => m.body.type === 'appendReply')).toEqual([]);
    expect(b.driver.digest().appliedIndex).toBe(0);
    expect(b.state.ops()).toEqual([]);

    b.finishDiskWork();
    const replies = b.take().filter((m) => m.body.type === 'appendReply');
    expect(replies.map((m) => m.body)).toEqual([
      expect.objectContaining({ success: true, matchIndex: 2 }),
      expect.objectContaining({ success: true, matchIndex: 2 }),
    ]);
    // A follower in step gathers applies (applier.ts): the two wait until the first has been queued 50 ms.
    expect(b.driver.digest().appliedIndex).toBe(0);
    b.now += 50;
    b.turn();
    expect(b.driver.digest().appliedIndex).toBe(2);
    expect(b.state.ops()).toEqual(['op-1']);
  });

  it("a follower far behind its leader's commit writes and acks first, and applies the backlog once its log caught up", () => {
    const b = new Scripted('B');
    const config = firstConfig();
    const entries: Entry[] = [config];
    for (let i = 2; i <= 6_000; i++) entries.push({ index: i, epoch: EPOCH, kind: 'op', data: enc.encode(`op-${i}`) });
    // The leader has committed 6,000 entries; B comes back with none and gets them 500 at a time.
    const batch = (from: number) => append(entries.slice(from - 1, from + 499), from - 1, 6_000);
    const acked = () =>
      Math.max(0, ...b.take().map((m) => (m.body.type === 'appendReply' && m.body.success ? m.body.matchIndex : 0)));
    for (let from = 1; from <= 3_501; from += 500) {
      b.deliver(batch(from));
      b.finishDiskWork();
    }
    // 4,000 entries written and acknowledged, none applied yet: the log came first.
    expect(acked()).toBe(4_000);
    expect(b.driver.digest().appliedIndex).toBe(0);
    expect(b.state.ops()).toEqual([]);

    // Within about two batches of the leader's commit, its log comes first no more: the backlog goes at full pace.
    for (let from = 4_001; from <= 5_501; from += 500) {
      b.deliver(batch(from));
      b.finishDiskWork();
    }
    b.turn();
    expect(acked()).toBe(6_000);
    expect(b.driver.digest().appliedIndex).toBe(6_000);
    expect(b.state.ops()).toHaveLength(5_999);
    expect(b.state.ops()[5_998]).toBe('op-6000');
  });

  it('a replica leaving after it handed leadership over acks no appends, and still answers other messages', () => {
    const b = new Scripted('B');
    b.driver.leaveAfterHandOver();
    b.deliver(append([firstConfig()], 0, 1));
    b.finishDiskWork();
    const sent = b.take();
    expect(sent.filter((m) => m.body.type === 'appendReply')).toEqual([]);
    b.deliver({ from: 'C', to: 'B', epoch: EPOCH, force: 0, incarnation: '', body: { type: 'probe', session: 1 } });
    expect(b.take().map((m) => m.body.type)).toContain('probeReply');

    // Without it, the same append is acknowledged.
    const c = new Scripted('C');
    c.deliver({ ...append([firstConfig()], 0, 1), to: 'C' });
    c.finishDiskWork();
    expect(c.take().filter((m) => m.body.type === 'appendReply')).toHaveLength(1);
  });

  it("a follower goes by its leader's latest commit index, not the highest it ever heard, to decide it is behind", () => {
    const b = new Scripted('B');
    const entries: Entry[] = [firstConfig()];
    for (let i = 2; i <= 500; i++) entries.push({ index: i, epoch: EPOCH, kind: 'op', data: enc.encode(`op-${i}`) });
    // Told of a commit far ahead (as a history a forced leader later replaced could have said): it applies nothing.
    b.deliver(append(entries, 0, 6_000));
    b.finishDiskWork();
    expect(b.driver.digest().appliedIndex).toBe(0);
    // Its leader now names a commit index its log reaches: it applies, though it once heard of 6,000.
    b.deliver(append([], 500, 500));
    b.finishDiskWork();
    b.turn();
    expect(b.driver.digest().appliedIndex).toBe(500);
  });

  it('a leader sends its appends before its own write is durable, and answers its client only once it is', async () => {
    const a = new Scripted('A');
    holdClusterData(a);
    expect(a.driver.forceLeader()).toMatchObject({ ok: true });
    a.turn();
    // Its first entry (the forced configuration) went to B and C at once, while its own disk still had it.
    expect(
      a
        .take()
        .filter((m) => m.body.type === 'append' && m.body.entries.length > 0)
        .map((m) => m.to)
        .sort(),
    ).toEqual(['B', 'C']);
    a.finishDiskWork();
    await a.driver.ensureLeaderReady();

    let answer: string | undefined;
    const submitted = a.driver.submit('op-1').then((o) => (answer = o));
    a.turn();
    // In sync alone (forced), the entry commits on A's own durable copy: not before it exists.
    await flushPromises();
    expect(answer).toBeUndefined();
    expect(a.driver.status().commitIndex).toBe(2);

    a.now += 7;
    a.finishDiskWork();
    await submitted;
    expect(answer).toBe('op-1');
    expect(a.state.ops()).toEqual(['op-1']);
    // What a metrics module hears and reads: the answered op once, 7 ms after its proposal; every sync, with every
    // entry of the log in exactly one of them; what was applied.
    expect(a.commitSeconds).toEqual([0.007]);
    const stats = a.driver.stats();
    expect(stats.log.syncs).toBeGreaterThanOrEqual(2);
    expect(a.syncEntries).toHaveLength(stats.log.syncs);
    expect(a.syncEntries.reduce((n, e) => n + e, 0)).toBe(a.driver.status().lastIndex);
    expect(stats.log.writes).toBeGreaterThanOrEqual(stats.log.syncs);
    expect(stats.applied).toMatchObject({ entries: 3, backlog: 0 });
  });

  it('a power cut takes the leader\'s unsynced entry with it, and its client never heard "ok"', async () => {
    const a = new Scripted('A');
    holdClusterData(a);
    expect(a.driver.forceLeader()).toMatchObject({ ok: true });
    a.turn();
    a.finishDiskWork();
    await a.driver.ensureLeaderReady();
    let answered = false;
    void a.driver.submit('op-1').then(
      () => (answered = true),
      () => undefined,
    );
    a.turn();
    a.powerCut();
    await flushPromises();
    expect(answered).toBe(false);
    expect(a.driver.status().lastIndex).toBe(2); // the configurations only
  });

  it('a failing sync stops the replica: nothing more is sent, waiting callers hear it', async () => {
    const a = new Scripted('A');
    holdClusterData(a);
    a.disk.faults.syncFailure = 1;
    expect(a.driver.forceLeader()).toMatchObject({ ok: true });
    a.turn();
    a.take();
    const ready = a.driver.ensureLeaderReady();
    a.finishDiskWork();
    expect(a.fatal.map((e) => (e as Error & { code: string }).code)).toEqual(['EIO']);
    await expect(ready).rejects.toThrow(/stopped/);
    await expect(a.driver.submit('op-1')).rejects.toThrow(/shutting down|stopped/);
    a.now += 1_000;
    a.turn();
    expect(a.take()).toEqual([]);
  });
});
