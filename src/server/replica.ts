import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { ApplyOutcome, ChatOp } from './chat/ops.js';
import { ChatState } from './chat/state-machine.js';
import { BatchAggregator, EventBus } from './events.js';
import { NotLeaderError, type AppliedOp, type LeaderInfo, type ReplicaHandle } from './replica-handle.js';
import { ReplicaCore, type CoreStatus } from './replication/core.js';
import { policyFor } from './replication/quorum.js';
import type { Action, NodeId, PeerMessage, ReplicationLimits, ReplicationTimings } from './replication/types.js';
import type { PeerEndpoint, PeerTransport } from './rpc/peer-transport.js';
import { LogStore } from './storage/log-store.js';
import { exportSnapshot } from './storage/snapshot-export.js';

export interface ReplicaOptions {
  id: NodeId;
  cluster: string;
  /** Every replica with its address, this one included. */
  members: readonly PeerEndpoint[];
  db: Database;
  logger: Logger;
  transport: PeerTransport;
  timings?: Partial<ReplicationTimings>;
  limits?: Partial<ReplicationLimits>;
  /** How often the core's clock ticks, in ms. */
  tickMs?: number;
  /** Seed of the election timeouts; random when omitted. */
  seed?: number;
  mode?: 'in-sync' | 'majority';
}

interface PendingOp {
  epoch: number;
  resolve(outcome: ApplyOutcome): void;
  reject(err: Error): void;
}

interface Proposal {
  data: Uint8Array;
  resolve(outcome: ApplyOutcome): void;
  reject(err: Error): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const READY_WAIT_MS = 3_000;

/**
 * A replica: the replication core driven by a clock, the network and the
 * RPC handlers, with its log and chat state in one SQLite database. Client ops
 * and peer messages that arrive together are handled in one pass: one
 * transaction, one fsync, one message per peer.
 */
export class Replica implements ReplicaHandle {
  readonly id: NodeId;
  readonly chat: ChatState;
  readonly events: EventBus;
  private readonly core: ReplicaCore;
  private readonly store: LogStore;
  private readonly batches: BatchAggregator;
  private readonly addresses: Map<NodeId, string>;
  private readonly pending = new Map<number, PendingOp>();
  private proposals: Proposal[] = [];
  private inbox: { message: PeerMessage; snapshot?: Buffer }[] = [];
  private readonly incomingSnapshots = new Map<NodeId, Buffer>();
  private flushScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly appliedListeners = new Set<(a: AppliedOp) => void>();
  private readonly leadershipListeners = new Set<(leading: boolean) => void>();
  private readyWaiters: { resolve(): void; reject(e: Error): void; timer: NodeJS.Timeout }[] = [];
  private readonly startedAt = Date.now();
  private stopped = false;

  constructor(private readonly o: ReplicaOptions) {
    this.id = o.id;
    this.addresses = new Map(o.members.map((m) => [m.id, m.address]));
    this.events = new EventBus(o.id, o.logger);
    this.batches = new BatchAggregator(this.events);
    this.store = new LogStore(o.db);
    this.chat = new ChatState(o.db);
    const memberIds = o.members.map((m) => m.id);
    const mode = o.mode ?? 'in-sync';
    const persisted = this.store.load(o.cluster, memberIds, mode, ReplicaCore.initialState(memberIds));
    this.core = new ReplicaCore(
      { id: o.id, members: memberIds, seed: o.seed ?? Math.floor(Math.random() * 2 ** 31), timings: o.timings, limits: o.limits, policy: policyFor(mode) },
      persisted,
      Date.now(),
    );
    this.events.emit('replica.started', this.core.epoch, `${o.id} started: log ${persisted.base.index + 1}..${persisted.base.index + persisted.entries.length}, applied ${persisted.appliedIndex}; it will not lead before it has caught up`, {
      lastIndex: this.core.lastIndex, applied: persisted.appliedIndex, quarantined: this.store.quarantinedCount(),
    });
    this.execute(this.core.takeActions());
  }

  start(): void {
    const tickMs = this.o.tickMs ?? 10;
    this.timer = setInterval(() => this.tick(), tickMs);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const err = new NotLeaderError(`replica ${this.id} is shutting down`, undefined);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const p of this.proposals) p.reject(err);
    this.proposals = [];
    for (const w of this.readyWaiters) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.readyWaiters = [];
    this.o.transport.close();
  }

  // ----------------------------------------------------------- ReplicaHandle

  submit(op: ChatOp): Promise<ApplyOutcome> {
    if (this.stopped) return Promise.reject(new NotLeaderError(`replica ${this.id} is shutting down`, undefined));
    if (this.core.currentRole !== 'leader') return Promise.reject(this.notLeader());
    return new Promise((resolve, reject) => {
      this.proposals.push({ data: encoder.encode(JSON.stringify(op)), resolve, reject });
      this.scheduleFlush();
    });
  }

  ensureLeaderReady(): Promise<void> {
    if (this.core.isReadyLeader) return Promise.resolve();
    if (this.stopped || this.core.currentRole !== 'leader') return Promise.reject(this.notLeader());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w.timer !== timer);
        reject(this.notLeader());
      }, READY_WAIT_MS);
      this.readyWaiters.push({ resolve, reject, timer });
    });
  }

  leader(): LeaderInfo | undefined {
    const id = this.core.leader;
    if (!id) return undefined;
    return { id, address: this.addresses.get(id) ?? '', epoch: this.core.epoch };
  }

  onApplied(listener: (applied: AppliedOp) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  onLeadershipChange(listener: (leading: boolean) => void): () => void {
    this.leadershipListeners.add(listener);
    return () => this.leadershipListeners.delete(listener);
  }

  // ---------------------------------------------------------- for the server

  /** A peer message from the network (with the bytes of a finished snapshot). */
  deliver(message: PeerMessage, snapshot?: Buffer): void {
    if (this.stopped) return;
    this.inbox.push({ message, snapshot });
    this.scheduleFlush();
  }

  status(): CoreStatus & { uptimeMs: number; writesPerSecond: number; address: string } {
    const now = Date.now();
    return { ...this.core.status(now), uptimeMs: now - this.startedAt, writesPerSecond: this.batches.rate, address: this.addresses.get(this.id) ?? '' };
  }

  members(): PeerEndpoint[] {
    return [...this.addresses].map(([id, address]) => ({ id, address }));
  }

  digest(): { appliedIndex: number; digest: string } {
    return { appliedIndex: this.core.applied, digest: this.chat.digest() };
  }

  forceLeader(): { ok: true; epoch: number } | { ok: false; reason: string } {
    const result = this.core.forceLeader(Date.now());
    this.execute(this.core.takeActions());
    return result;
  }

  // -------------------------------------------------------------- internals

  private notLeader(): NotLeaderError {
    const leader = this.leader();
    const hint = leader && leader.id !== this.id ? { id: leader.id, address: leader.address } : undefined;
    const message = hint
      ? `replica ${this.id} is not the leader; the leader is ${hint.id} at ${hint.address}`
      : `replica ${this.id} is not the leader and knows of none yet; retry shortly`;
    return new NotLeaderError(message, hint);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Everything that arrived since the last pass goes through the core together. */
  private flush(): void {
    if (this.stopped) return;
    const now = Date.now();
    const inbox = this.inbox;
    this.inbox = [];
    for (const { message, snapshot } of inbox) {
      if (snapshot) this.incomingSnapshots.set(message.from, snapshot);
      this.core.receive(message, now);
    }
    const proposals = this.proposals;
    this.proposals = [];
    if (proposals.length > 0) {
      const result = this.core.propose(proposals.map((p) => p.data), now);
      if (result.ok) {
        proposals.forEach((p, i) => this.pending.set(result.firstIndex + i, { epoch: result.epoch, resolve: p.resolve, reject: p.reject }));
      } else {
        const err = this.notLeader();
        for (const p of proposals) p.reject(err);
      }
    }
    this.execute(this.core.takeActions());
  }

  private tick(): void {
    const now = Date.now();
    this.core.tick(now);
    this.execute(this.core.takeActions());
    this.batches.flush(now, this.core.epoch, this.core.currentRole, this.core.commit);
  }

  /**
   * Carries out the core's actions: every durable change in one transaction
   * first, then the messages, then the answers to clients.
   */
  private execute(actions: Action[]): void {
    if (actions.length === 0) return;
    const sends: PeerMessage[] = [];
    const snapshots: Extract<Action, { type: 'sendSnapshot' }>[] = [];
    const applied: { entryEpoch: number; entryKind: string; index: number; op?: ChatOp; outcome?: ApplyOutcome }[] = [];
    const leadership: boolean[] = [];
    const events: Extract<Action, { type: 'event' }>[] = [];
    const now = Date.now();
    let durable = false;
    for (const a of actions) {
      if (a.type === 'persist' || a.type === 'apply' || a.type === 'compact' || a.type === 'installSnapshot') durable = true;
    }
    const writeAll = () => {
      for (const a of actions) {
        switch (a.type) {
          case 'persist': {
            this.store.persist(a.truncateFrom, a.quarantine, a.entries, a.hard, now);
            if (a.entries.length > 0) this.batches.appended(a.entries.length, a.entries.reduce((s, e) => s + e.data.byteLength, 0));
            break;
          }
          case 'apply': {
            for (const e of a.entries) {
              if (e.kind === 'op') {
                const op = JSON.parse(decoder.decode(e.data)) as ChatOp;
                applied.push({ entryEpoch: e.epoch, entryKind: e.kind, index: e.index, op, outcome: this.chat.apply(op, e.index) });
              } else {
                applied.push({ entryEpoch: e.epoch, entryKind: e.kind, index: e.index });
              }
            }
            if (a.entries.length > 0) this.store.setApplied(a.entries[a.entries.length - 1]!.index);
            this.batches.applied(a.entries.filter((e) => e.kind === 'op').length);
            break;
          }
          case 'compact':
            this.store.compact(a.base);
            break;
          case 'installSnapshot': {
            const data = this.incomingSnapshots.get(a.from);
            if (!data) throw new Error(`snapshot from ${a.from} to install is missing`);
            this.incomingSnapshots.delete(a.from);
            this.chat.importState(data);
            this.store.quarantine(a.quarantine, now, 'replaced by a snapshot from the leader');
            this.store.resetTo(a.base, a.keepFrom);
            break;
          }
          case 'send':
            sends.push(a.message);
            break;
          case 'sendSnapshot':
            snapshots.push(a);
            break;
          case 'leadership':
            leadership.push(a.leading);
            break;
          case 'event':
            events.push(a);
            break;
        }
      }
    };
    if (durable) this.o.db.transaction(writeAll)();
    else writeAll();

    for (const m of sends) this.o.transport.send(m);
    for (const s of snapshots) this.sendSnapshot(s);
    for (const e of events) this.events.emit(e.kind, this.core.epoch, e.message, e.fields, now);
    for (const a of applied) {
      const p = this.pending.get(a.index);
      if (p) {
        this.pending.delete(a.index);
        if (a.entryKind === 'op' && a.entryEpoch === p.epoch && a.outcome) p.resolve(a.outcome);
        else p.reject(new NotLeaderError('leadership changed before the op was committed; retry', undefined));
      }
      if (a.op && a.outcome) {
        const event: AppliedOp = { index: a.index, op: a.op, outcome: a.outcome };
        for (const l of this.appliedListeners) l(event);
      }
    }
    for (const leading of leadership) this.onLeadership(leading);
  }

  private onLeadership(leading: boolean): void {
    if (leading) {
      for (const w of this.readyWaiters) {
        clearTimeout(w.timer);
        w.resolve();
      }
    } else {
      const err = this.notLeader();
      for (const w of this.readyWaiters) {
        clearTimeout(w.timer);
        w.reject(err);
      }
      for (const p of this.pending.values()) p.reject(new NotLeaderError('this replica stopped leading before the op was committed; retry', undefined));
      this.pending.clear();
    }
    this.readyWaiters = [];
    for (const l of this.leadershipListeners) l(leading);
  }

  private sendSnapshot(a: Extract<Action, { type: 'sendSnapshot' }>): void {
    const started = Date.now();
    exportSnapshot(this.o.db, this.chat, { lastIndex: a.lastIndex, lastEpoch: a.lastEpoch, config: a.config })
      .then(async (image) => {
        await this.o.transport.sendSnapshot(a.to, this.core.epoch, { lastIndex: image.lastIndex, lastEpoch: image.lastEpoch, config: image.config }, image.data);
        if (!this.stopped) {
          this.core.snapshotDelivered(a.to, Date.now());
          this.execute(this.core.takeActions());
        }
        this.events.emit('snapshot.transferred', this.core.epoch, `${this.id} streamed a ${Math.round(image.data.length / 1024)} KiB snapshot up to index ${image.lastIndex} to ${a.to}`, {
          to: a.to, bytes: image.data.length, ms: Date.now() - started, lastIndex: image.lastIndex,
        });
      })
      .catch((err: Error) => {
        this.events.emit('snapshot.failed', this.core.epoch, `${this.id} could not send a snapshot to ${a.to}: ${err.message}`, { to: a.to });
        if (this.stopped) return;
        this.core.snapshotFailed(a.to, Date.now());
        this.execute(this.core.takeActions());
      });
  }
}
