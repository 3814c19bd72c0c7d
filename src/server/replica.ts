import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { ApplyOutcome, ChatOp } from './chat/operations.js';
import { ChatState } from './chat/chat-state.js';
import { BatchAggregator, EventBus } from './events.js';
import { NotLeaderError, type AppliedOp, type LeaderInfo, type ReplicaHandle } from './replica-handle.js';
import { ReplicaCore, type CoreStatus } from './replication/core.js';
import { policyFor } from './replication/quorum.js';
import { describeConfig, learnersOf, votersOf } from './replication/membership.js';
import type { Action, MembershipChange, MembershipRefusal, MembershipResult, NodeId, PeerMessage, ReplicationLimits, ReplicationTimings } from './replication/types.js';
import type { PeerEndpoint, PeerTransport } from './rpc/peer-transport.js';
import { LogStore } from './storage/log-store.js';
import { exportSnapshot } from './storage/snapshot-export.js';

export interface ReplicaOptions {
  id: NodeId;
  cluster: string;
  /**
   * Replicas with their addresses as this start names them, this one included:
   * the members of a new cluster, and otherwise address corrections (the
   * configuration in the log says who the replicas are).
   */
  members: readonly PeerEndpoint[];
  /** A new replica for a running cluster: no configuration of its own until a leader adds it. */
  join?: boolean;
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

interface PendingConfig {
  epoch: number;
  resolve(): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** A replica in the configuration, with the address it is reached at. */
export interface MemberView {
  id: NodeId;
  address: string;
  learner: boolean;
  inSync: boolean;
}

export class MembershipError extends Error {
  constructor(
    readonly reason: MembershipRefusal | 'not_committed' | 'abandoned',
    message: string,
  ) {
    super(message);
    this.name = 'MembershipError';
  }
}

interface Proposal {
  data: Uint8Array;
  resolve(outcome: ApplyOutcome): void;
  reject(err: Error): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const READY_WAIT_MS = 3_000;
/** How long a membership change may wait for an earlier config entry to commit before it is refused as busy. */
const MEMBERSHIP_BUSY_WAIT_MS = 3_000;
/** How long the answer to a membership change waits for its entry to commit. */
const MEMBERSHIP_COMMIT_WAIT_MS = 15_000;

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
  /** Addresses this start names (they win over the configuration's: machines move). */
  private readonly named: Map<NodeId, string>;
  /** Addresses of senders no configuration of ours names yet (the leader of a cluster this replica is joining). */
  private readonly learned = new Map<NodeId, string>();
  /** What the transport's links were last made for: the core's contacts (a new map when they change) and `learned`. */
  private linked: { contacts: ReadonlyMap<NodeId, string>; learned: string } | undefined;
  /** The database's synchronous setting: FULL (true) as opened, NORMAL for passes that only apply. */
  private fullSync = true;
  private readonly pending = new Map<number, PendingOp>();
  private readonly pendingConfigs = new Map<number, PendingConfig>();
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
    this.named = new Map(o.members.map((m) => [m.id, m.address]));
    this.events = new EventBus(o.id, o.logger);
    this.batches = new BatchAggregator(this.events);
    this.store = new LogStore(o.db);
    this.chat = new ChatState(o.db);
    const mode = o.mode ?? 'in-sync';
    const bootstrap = o.join ? [] : o.members;
    const persisted = this.store.load(o.cluster, mode, ReplicaCore.initialState(bootstrap));
    this.core = new ReplicaCore(
      { id: o.id, bootstrap, seed: o.seed ?? Math.floor(Math.random() * 2 ** 31), timings: o.timings, limits: o.limits, policy: policyFor(mode) },
      persisted,
      Date.now(),
    );
    const cfg = this.core.config;
    this.events.emit('replica.started', this.core.epoch, `${o.id} started: log ${persisted.base.index + 1}..${persisted.base.index + persisted.entries.length}, applied ${persisted.appliedIndex}; replicas ${describeConfig(cfg)}; it will not lead before it has caught up`, {
      lastIndex: this.core.lastIndex, applied: persisted.appliedIndex, quarantined: this.store.quarantinedCount(),
      voters: votersOf(cfg), learners: learnersOf(cfg),
    });
    const named = o.members.map((m) => m.id).sort().join(',');
    const configured = cfg.replicas.map((r) => r.id).join(',');
    if (!o.join && cfg.replicas.length > 0 && named !== configured) {
      this.events.emit('membership.differs', this.core.epoch, `this start names replicas ${named}, but the data directory's configuration has ${configured}; the configuration wins (membership changes move it)`, {
        named: named.split(','), configured: configured.split(','),
      });
    }
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
    this.rejectPendingConfigs(err);
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
    return { id, address: this.addressOf(id), epoch: this.core.epoch };
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

  /** A peer message from the network, with where its sender is reached (and the bytes of a finished snapshot). */
  deliver(message: PeerMessage, fromAddress: string, snapshot?: Buffer): void {
    if (this.stopped) return;
    if (fromAddress && !this.named.has(message.from) && !this.core.contacts().has(message.from) && this.learned.get(message.from) !== fromAddress) {
      this.learned.set(message.from, fromAddress);
      this.linkPeers();
    }
    this.inbox.push({ message, snapshot });
    this.scheduleFlush();
  }

  status(): CoreStatus & { uptimeMs: number; writesPerSecond: number; address: string } {
    const now = Date.now();
    return { ...this.core.status(now), uptimeMs: now - this.startedAt, writesPerSecond: this.batches.rate, address: this.addressOf(this.id) };
  }

  /** The replicas of the configuration at the end of the log, voters and learners, with their addresses. */
  members(): MemberView[] {
    const cfg = this.core.config;
    return cfg.replicas.map((r) => ({ id: r.id, address: this.addressOf(r.id), learner: r.learner, inSync: cfg.inSync.includes(r.id) }));
  }

  /**
   * An operator's membership change, on the leader. Resolves with the new
   * configuration once its entry is committed; rejects with a MembershipError
   * (or NotLeaderError) otherwise.
   */
  async changeMembership(change: MembershipChange): Promise<{ index: number; epoch: number; members: MemberView[] }> {
    if (this.stopped) throw new NotLeaderError(`replica ${this.id} is shutting down`, undefined);
    const busyUntil = Date.now() + MEMBERSHIP_BUSY_WAIT_MS;
    let result: MembershipResult;
    for (;;) {
      result = this.core.changeMembership(change, Date.now());
      this.execute(this.core.takeActions());
      if (result.ok || result.reason !== 'busy' || Date.now() >= busyUntil || this.stopped) break;
      // Another config entry (often an in-sync set change) is being committed: that takes milliseconds.
      await new Promise((r) => setTimeout(r, 20));
    }
    if (!result.ok) {
      if (result.reason === 'not_leader') throw this.notLeader();
      throw new MembershipError(result.reason, result.message);
    }
    const { index, epoch } = result;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingConfigs.delete(index);
        reject(new MembershipError('not_committed', `the change is in the log at index ${index} but was not committed within ${MEMBERSHIP_COMMIT_WAIT_MS / 1000} s; see the cluster status`));
      }, MEMBERSHIP_COMMIT_WAIT_MS);
      this.pendingConfigs.set(index, { epoch, resolve, reject, timer });
      if (this.core.applied >= index) this.settleConfig(index, this.core.entryAt(index)?.epoch ?? -1);
    });
    const present = this.core.config.replicas.some((r) => r.id === change.id);
    if (present !== (change.type === 'add')) {
      throw new MembershipError('abandoned', `the change was committed at index ${index} but undone since (see the cluster events); the replicas are now ${describeConfig(this.core.config)}`);
    }
    return { index, epoch, members: this.members() };
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

  /** Where a peer is reached: the address this start names, else the configuration's, else the one its messages carry. */
  private addressOf(id: NodeId): string {
    return this.named.get(id) || this.core.contacts().get(id) || this.learned.get(id) || '';
  }

  /** Keeps the transport's links to the replicas the configuration (and any sender it does not name yet) needs. */
  private linkPeers(): void {
    const contacts = this.core.contacts();
    if (this.linked?.contacts === contacts && (this.learned.size === 0 || this.linked.learned === [...this.learned].join(';'))) return;
    for (const id of contacts.keys()) this.learned.delete(id);
    this.linked = { contacts, learned: [...this.learned].join(';') };
    const ids = new Set([...contacts.keys(), ...this.learned.keys()]);
    this.o.transport.connect([...ids].map((id) => ({ id, address: this.addressOf(id) })));
  }

  private settleConfig(index: number, entryEpoch: number): void {
    const p = this.pendingConfigs.get(index);
    if (!p) return;
    this.pendingConfigs.delete(index);
    clearTimeout(p.timer);
    if (entryEpoch === p.epoch) p.resolve();
    else p.reject(new NotLeaderError('leadership changed before the configuration change was committed; check the cluster status and retry', undefined));
  }

  private rejectPendingConfigs(err: Error): void {
    for (const p of this.pendingConfigs.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pendingConfigs.clear();
  }

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
    let fsync = false;
    for (const a of actions) {
      if (a.type === 'persist' || a.type === 'apply' || a.type === 'compact' || a.type === 'installSnapshot') durable = true;
      if ((a.type === 'persist' && (a.entries.length > 0 || a.truncateFrom !== undefined || a.hard)) || a.type === 'installSnapshot') fsync = true;
    }
    if (durable) this.syncMode(fsync);
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
    for (const e of events) this.events.emit(e.kind, e.epoch, e.message, e.fields, now);
    for (const a of applied) {
      if (a.entryKind === 'config') this.settleConfig(a.index, a.entryEpoch);
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
    this.linkPeers();
  }

  /**
   * Whether the next transaction waits for the disk. Log entries, truncations,
   * hard state and installed snapshots must be durable before anyone hears of
   * them (acks and promises count on them): synchronous=FULL. A pass that only
   * applies committed entries (or compacts) skips the fsync (synchronous=NORMAL
   * in WAL mode): the log already holds those entries durably, the state and the
   * applied index move in one atomic transaction, and a crash that loses it
   * only means applying the same entries again from the log, with the same
   * results. The next FULL commit makes it durable too (the WAL is written in
   * order). This takes an fsync off the path of every acknowledged write.
   */
  private syncMode(full: boolean): void {
    if (this.fullSync === full) return;
    this.o.db.pragma(`synchronous = ${full ? 'FULL' : 'NORMAL'}`);
    this.fullSync = full;
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
      this.rejectPendingConfigs(new NotLeaderError('this replica stopped leading before the configuration change was committed; check the cluster status', undefined));
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
