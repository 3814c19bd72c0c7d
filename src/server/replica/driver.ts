import type { Logger } from 'pino';
import { ReplicaCore } from '../replication/core.js';
import type { LogStorage, WriteDurability } from '../replication/log-storage.js';
import { describeConfig, learnersOf, votersOf } from '../replication/membership.js';
import { policyFor } from '../replication/quorum.js';
import type { SnapshotImage, StateMachine } from '../replication/state-machine.js';
import type { PeerEndpoint, Transport } from '../replication/transport.js';
import type { Action, MembershipChange, MembershipResult, NodeId, PeerMessage, ReplicationLimits, ReplicationTimings } from '../replication/types.js';
import { PassBatcher } from './batching.js';
import { durabilityOf } from './durability.js';
import { BatchAggregator, EventBus } from './events.js';
import {
  MembershipError,
  NotLeaderError,
  type AppliedOp,
  type DriverHandle,
  type LeaderInfo,
  type MemberView,
  type ReplicaControl,
  type ReplicaStatusView,
  TransferError,
} from './handle.js';
import { PeerAddresses } from './peer-addresses.js';
import { PendingConfigs } from './pending-configs.js';
import { PendingOps } from './pending-ops.js';
import { ReadyWaiters } from './ready-waiters.js';

export interface ReplicaDriverOptions<Op, Outcome> {
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
  stateMachine: StateMachine<Op, Outcome>;
  storage: LogStorage;
  transport: Transport;
  logger: Logger;
  timings?: Partial<ReplicationTimings>;
  limits?: Partial<ReplicationLimits>;
  /** How often the core's clock ticks, in ms. */
  tickMs?: number;
  /** Seed of the election timeouts; random when omitted. */
  seed?: number;
  mode?: 'in-sync' | 'majority';
  /** Timings of the write path, for metrics (src/server/metrics/). */
  stats?: DriverStats;
}

/**
 * What the driver reports as writes complete, for metrics. Whatever the write
 * path becomes, these two moments exist: a batch handed to the log storage is
 * durable, and an op submitted here is committed and applied.
 */
export interface DriverStats {
  /** A write batch is durable (`synced`: with its fsync), `ms` after it was handed to the storage, with `entries` log entries appended. */
  logWritten(durability: WriteDurability, ms: number, entries: number): void;
  /** An op submitted here was committed and applied, `ms` after `submit`. */
  committed(ms: number): void;
}

/** An applied entry of a pass: its op and outcome when it was an op. */
interface AppliedInPass<Op, Outcome> {
  entryEpoch: number;
  entryKind: string;
  index: number;
  applied?: { op: Op; outcome: Outcome };
}

type SendSnapshot = Extract<Action, { type: 'sendSnapshot' }>;

const READY_WAIT_MS = 3_000;
/** How long a leadership transfer may take before its caller hears it failed (the core gives up after two election timeouts). */
const TRANSFER_WAIT_MS = 2_000;
/** How long a membership change may wait for an earlier config entry to commit before it is refused as busy. */
const MEMBERSHIP_BUSY_WAIT_MS = 3_000;
/** How long the answer to a membership change waits for its entry to commit. */
const MEMBERSHIP_COMMIT_WAIT_MS = 15_000;

/**
 * The replica driver: the replication core driven by a clock, the network and
 * the RPC handlers, over three seams: the state machine it replicates, the
 * storage of its log and the transport to its peers. Ops and peer messages that
 * arrive together are handled in one pass (batching.ts): one write batch, one
 * fsync, one message per peer.
 */
export class ReplicaDriver<Op, Outcome> implements DriverHandle<Op, Outcome>, ReplicaControl {
  readonly id: NodeId;
  readonly events: EventBus;
  private readonly core: ReplicaCore;
  private readonly stateMachine: StateMachine<Op, Outcome>;
  private readonly storage: LogStorage;
  private readonly transport: Transport;
  private readonly batches: BatchAggregator;
  private readonly batcher: PassBatcher<Outcome>;
  private readonly addresses: PeerAddresses;
  private readonly pendingOps = new PendingOps<Outcome>();
  private readonly pendingConfigs = new PendingConfigs();
  private readonly readyWaiters = new ReadyWaiters();
  /** Snapshots received from peers, by sender, until the core says to install them. */
  private readonly incomingSnapshots = new Map<NodeId, Buffer>();
  private readonly appliedListeners = new Set<(a: AppliedOp<Op, Outcome>) => void>();
  private readonly leadershipListeners = new Set<(leading: boolean) => void>();
  private readonly tickMs: number;
  private readonly stats: DriverStats | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private stopped = false;

  constructor(options: ReplicaDriverOptions<Op, Outcome>) {
    const { id, members } = options;
    this.id = id;
    this.stateMachine = options.stateMachine;
    this.storage = options.storage;
    this.transport = options.transport;
    this.tickMs = options.tickMs ?? 10;
    this.stats = options.stats;
    this.addresses = new PeerAddresses(members);
    this.events = new EventBus(id, options.logger);
    this.batches = new BatchAggregator(this.events);
    this.batcher = new PassBatcher(() => this.pass());
    const mode = options.mode ?? 'in-sync';
    const bootstrap = options.join ? [] : members;
    const persisted = this.storage.load(options.cluster, mode, ReplicaCore.initialState(bootstrap));
    this.core = new ReplicaCore(
      { id, bootstrap, seed: options.seed ?? Math.floor(Math.random() * 2 ** 31), timings: options.timings, limits: options.limits, policy: policyFor(mode) },
      persisted,
      Date.now(),
    );
    const cfg = this.core.config;
    this.events.emit('replica.started', this.core.epoch, `${id} started: log ${persisted.base.index + 1}..${persisted.base.index + persisted.entries.length}, applied ${persisted.appliedIndex}; replicas ${describeConfig(cfg)}; it will not lead before it has caught up`, {
      lastIndex: this.core.lastIndex, applied: persisted.appliedIndex, quarantined: this.storage.quarantinedCount(),
      voters: votersOf(cfg), learners: learnersOf(cfg),
    });
    const named = members.map((m) => m.id).sort().join(',');
    const configured = cfg.replicas.map((r) => r.id).join(',');
    if (!options.join && cfg.replicas.length > 0 && named !== configured) {
      this.events.emit('membership.differs', this.core.epoch, `this start names replicas ${named}, but the data directory's configuration has ${configured}; the configuration wins (membership changes move it)`, {
        named: named.split(','), configured: configured.split(','),
      });
    }
    this.execute(this.core.takeActions());
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.tickMs);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const err = new NotLeaderError(`replica ${this.id} is shutting down`, undefined);
    this.pendingOps.rejectAll(err);
    this.batcher.rejectProposals(err);
    this.readyWaiters.rejectAll(err);
    this.pendingConfigs.rejectAll(err);
    this.transport.close();
  }

  // ------------------------------------------------------------ DriverHandle

  submit(op: Op): Promise<Outcome> {
    if (this.stopped) return Promise.reject(new NotLeaderError(`replica ${this.id} is shutting down`, undefined));
    if (this.core.currentRole !== 'leader') return Promise.reject(this.notLeader());
    const stats = this.stats;
    return new Promise((resolve, reject) => {
      if (!stats) return this.batcher.propose({ data: this.stateMachine.encode(op), resolve, reject });
      const started = performance.now();
      this.batcher.propose({ data: this.stateMachine.encode(op), resolve: (outcome) => {
        stats.committed(performance.now() - started);
        resolve(outcome);
      }, reject });
    });
  }

  ensureLeaderReady(): Promise<void> {
    if (this.core.isReadyLeader) return Promise.resolve();
    if (this.stopped || this.core.currentRole !== 'leader') return Promise.reject(this.notLeader());
    return this.readyWaiters.wait(READY_WAIT_MS, () => this.notLeader());
  }

  leader(): LeaderInfo | undefined {
    const id = this.core.leader;
    if (!id) return undefined;
    return { id, address: this.addressOf(id), epoch: this.core.epoch };
  }

  onApplied(listener: (applied: AppliedOp<Op, Outcome>) => void): () => void {
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
    if (this.addresses.learn(message.from, fromAddress, this.core.contacts())) this.linkPeers();
    this.batcher.deliver({ message, snapshot });
  }

  // ---------------------------------------------------------- ReplicaControl

  status(): ReplicaStatusView {
    const now = Date.now();
    return { ...this.core.status(now), uptimeMs: now - this.startedAt, writesPerSecond: this.batches.rate, address: this.addressOf(this.id) };
  }

  members(): MemberView[] {
    const cfg = this.core.config;
    return cfg.replicas.map((r) => ({ id: r.id, address: this.addressOf(r.id), learner: r.learner, inSync: cfg.inSync.includes(r.id) }));
  }

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
    const committed = this.pendingConfigs.wait(index, epoch, MEMBERSHIP_COMMIT_WAIT_MS, () => new MembershipError('not_committed', `the change is in the log at index ${index} but was not committed within ${MEMBERSHIP_COMMIT_WAIT_MS / 1000} s; see the cluster status`));
    if (this.core.applied >= index) this.pendingConfigs.settle(index, this.core.entryAt(index)?.epoch ?? -1);
    await committed;
    const present = this.core.config.replicas.some((r) => r.id === change.id);
    if (present !== (change.type === 'add')) {
      throw new MembershipError('abandoned', `the change was committed at index ${index} but undone since (see the cluster events); the replicas are now ${describeConfig(this.core.config)}`);
    }
    return { index, epoch, members: this.members() };
  }

  digest(): { appliedIndex: number; digest: string } {
    return { appliedIndex: this.core.applied, digest: this.stateMachine.digest() };
  }

  forceLeader(): { ok: true; epoch: number } | { ok: false; reason: string } {
    const result = this.core.forceLeader(Date.now());
    this.execute(this.core.takeActions());
    return result;
  }

  async backup(): Promise<SnapshotImage> {
    // On the leader, once it has applied everything committed before its epoch: every acknowledged write is in.
    await this.ensureLeaderReady();
    const base = this.core.appliedBase();
    return this.stateMachine.snapshot({ lastIndex: base.index, lastEpoch: base.epoch, config: base.config });
  }

  async transferLeadership(target?: NodeId, timeoutMs = TRANSFER_WAIT_MS): Promise<{ leaderId: NodeId; epoch: number }> {
    if (this.stopped || this.core.currentRole !== 'leader') throw this.notLeader();
    const started = this.core.transferLeadership(target, Date.now());
    this.execute(this.core.takeActions());
    if (!started.ok) throw new TransferError(started.reason);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = this.core.leader;
      if (this.core.currentRole !== 'leader' && leader !== '' && leader !== this.id) return { leaderId: leader, epoch: this.core.epoch };
      if (this.core.currentRole === 'leader' && this.core.transferringTo === undefined) {
        throw new TransferError(`${started.to} did not take over in time; ${this.id} leads on`);
      }
      if (Date.now() >= deadline || this.stopped) {
        throw new TransferError(`${this.id} handed leadership to ${started.to}, but no new leader made itself known within ${timeoutMs} ms; see the cluster status`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  // -------------------------------------------------------------- internals

  private addressOf(id: NodeId): string {
    return this.addresses.addressOf(id, this.core.contacts());
  }

  /** Keeps the transport's links to the replicas the configuration (and any sender it does not name yet) needs. */
  private linkPeers(): void {
    const links = this.addresses.linksFor(this.core.contacts());
    if (links) this.transport.connect(links);
  }

  private notLeader(): NotLeaderError {
    const leader = this.leader();
    const hint = leader && leader.id !== this.id ? { id: leader.id, address: leader.address } : undefined;
    const message = hint
      ? `replica ${this.id} is not the leader; the leader is ${hint.id} at ${hint.address}`
      : `replica ${this.id} is not the leader and knows of none yet; retry shortly`;
    return new NotLeaderError(message, hint);
  }

  /** Everything that arrived since the last pass goes through the core together. */
  private pass(): void {
    if (this.stopped) return;
    const now = Date.now();
    const { arrivals, proposals } = this.batcher.take();
    for (const { message, snapshot } of arrivals) {
      if (snapshot) this.incomingSnapshots.set(message.from, snapshot);
      this.core.receive(message, now);
    }
    if (proposals.length > 0) {
      const result = this.core.propose(proposals.map((p) => p.data), now);
      if (result.ok) {
        this.pendingOps.add(result.firstIndex, result.epoch, proposals);
      } else {
        // A leader handing over names no leader: the client looks for the new one after a short backoff.
        const handingTo = this.core.transferringTo;
        const err = handingTo ? new NotLeaderError(`replica ${this.id} is handing leadership to ${handingTo}; retry`, undefined) : this.notLeader();
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
   * Carries out the core's actions: every durable change in one write batch
   * first, then, once the storage reports it durable, the messages and the
   * answers to callers.
   */
  private execute(actions: Action[]): void {
    if (actions.length === 0) return;
    const sends: PeerMessage[] = [];
    const snapshots: SendSnapshot[] = [];
    const applied: AppliedInPass<Op, Outcome>[] = [];
    const leadership: boolean[] = [];
    const events: Extract<Action, { type: 'event' }>[] = [];
    const now = Date.now();
    const writeAll = () => {
      for (const a of actions) {
        switch (a.type) {
          case 'persist': {
            this.storage.persist(a, now);
            if (a.entries.length > 0) this.batches.appended(a.entries.length, a.entries.reduce((s, e) => s + e.data.byteLength, 0));
            break;
          }
          case 'apply': {
            for (const e of a.entries) {
              applied.push({ entryEpoch: e.epoch, entryKind: e.kind, index: e.index, applied: e.kind === 'op' ? this.stateMachine.apply(e) : undefined });
            }
            if (a.entries.length > 0) this.storage.setApplied(a.entries[a.entries.length - 1]!.index);
            this.batches.applied(a.entries.filter((e) => e.kind === 'op').length);
            break;
          }
          case 'compact':
            this.storage.compact(a.base);
            break;
          case 'installSnapshot': {
            const data = this.incomingSnapshots.get(a.from);
            if (!data) throw new Error(`snapshot from ${a.from} to install is missing`);
            this.incomingSnapshots.delete(a.from);
            this.stateMachine.restore(data);
            this.storage.quarantine(a.quarantine, now, 'replaced by a snapshot from the leader');
            this.storage.resetTo(a.base, a.keepFrom);
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
    const afterDurable = () => {
      for (const m of sends) this.transport.send(m);
      for (const s of snapshots) this.sendSnapshot(s);
      for (const e of events) this.events.emit(e.kind, e.epoch, e.message, e.fields, now);
      for (const a of applied) {
        if (a.entryKind === 'config') this.pendingConfigs.settle(a.index, a.entryEpoch);
        this.pendingOps.settle(a.index, a.entryEpoch, a.applied?.outcome);
        if (a.applied) {
          const event: AppliedOp<Op, Outcome> = { index: a.index, op: a.applied.op, outcome: a.applied.outcome };
          for (const l of this.appliedListeners) l(event);
        }
      }
      for (const leading of leadership) this.onLeadership(leading);
      this.linkPeers();
    };
    const durability = durabilityOf(actions);
    if (durability) {
      const stats = this.stats;
      const started = performance.now();
      this.storage.write(durability, writeAll, stats ? () => {
        stats.logWritten(durability, performance.now() - started, actions.reduce((n, a) => n + (a.type === 'persist' ? a.entries.length : 0), 0));
        afterDurable();
      } : afterDurable);
    } else {
      writeAll();
      afterDurable();
    }
  }

  private onLeadership(leading: boolean): void {
    if (leading) {
      this.readyWaiters.resolveAll();
    } else {
      this.readyWaiters.rejectAll(this.notLeader());
      this.pendingOps.rejectAll(new NotLeaderError('this replica stopped leading before the op was committed; retry', undefined));
      this.pendingConfigs.rejectAll(new NotLeaderError('this replica stopped leading before the configuration change was committed; check the cluster status', undefined));
    }
    for (const l of this.leadershipListeners) l(leading);
  }

  private sendSnapshot(a: SendSnapshot): void {
    const started = Date.now();
    this.stateMachine.snapshot({ lastIndex: a.lastIndex, lastEpoch: a.lastEpoch, config: a.config })
      .then(async (image) => {
        await this.transport.sendSnapshot(a.to, this.core.epoch, { lastIndex: image.lastIndex, lastEpoch: image.lastEpoch, config: image.config }, image.data);
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
