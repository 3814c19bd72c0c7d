import type { Logger } from 'pino';
import { ReplicaCore } from '../replication/core.js';
import type { LogStats, LogStorage } from '../replication/log-storage.js';
import { describeConfig, learnersOf, votersOf } from '../replication/membership.js';
import { policyFor } from '../replication/quorum.js';
import type { AppliedEntry, SnapshotImage, StateMachine } from '../replication/state-machine.js';
import type { StateStore } from '../replication/state-store.js';
import type { ReceivedSnapshot, ReplicaEndpoint, Transport } from '../replication/transport.js';
import {
  DEFAULT_TIMINGS,
  type Action,
  type Entry,
  type MembershipChange,
  type MembershipResult,
  type NodeId,
  type PeerMessage,
  type ReplicationLimits,
  type ReplicationTimings,
} from '../replication/types.js';
import { Applier } from './applier.js';
import { PassBatcher } from './batching.js';
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
import { resumePoint } from './resume.js';
import { nodeRuntime, type DriverRuntime, type TimerHandle } from './runtime.js';

export interface ReplicaDriverOptions<Op, Outcome> {
  id: NodeId;
  cluster: string;
  /**
   * Replicas with their addresses as this start names them, this one included:
   * the members of a new cluster, and otherwise address corrections (the
   * configuration in the log says who the replicas are).
   */
  members: readonly ReplicaEndpoint[];
  /** A new replica for a running cluster: no configuration of its own until a leader adds it. */
  join?: boolean;
  stateMachine: StateMachine<Op, Outcome>;
  /** Where the state machine's applied position is kept, atomically with its state. */
  state: StateStore;
  log: LogStorage;
  transport: Transport;
  logger: Logger;
  timings?: Partial<ReplicationTimings>;
  limits?: Partial<ReplicationLimits>;
  /**
   * How often the core's clock ticks while nothing needs it sooner, in ms
   * (default: half a heartbeat). During an election it ticks every
   * CAMPAIGN_TICK_MS, so a campaign's deadlines are kept closely.
   */
  tickMs?: number;
  /** Seed of the election timeouts; random when omitted. */
  seed?: number;
  mode?: 'in-sync' | 'majority';
  /** The clock and timers (Node's; a virtual clock in the simulator). */
  runtime?: DriverRuntime;
  /**
   * The log or the state store failed (a full or failing disk): the replica
   * stops at once (crash-stop), and this is called. Default: the error is
   * thrown, which ends the process with its `server.crashed` line.
   */
  onFatal?: (err: Error) => void;
  /**
   * Told of every op proposed on this replica when its caller hears the
   * outcome: the seconds since it was proposed (metrics' commit latency
   * histogram). Without it, nothing is timed per op.
   */
  observeCommit?: (seconds: number) => void;
}

type SendSnapshot = Extract<Action, { type: 'sendSnapshot' }>;

export interface DriverStats {
  log: LogStats;
  /** Apply transactions, entries applied, and entries committed but not applied yet. */
  applied: { batches: number; entries: number; backlog: number };
}

const READY_WAIT_MS = 3_000;
/** How long a leadership transfer may take before its caller hears it failed (the core gives up after two election timeouts). */
const TRANSFER_WAIT_MS = 2_000;
/** The core's clock during an election. */
const CAMPAIGN_TICK_MS = 10;
/** How long a membership change may wait for an earlier config entry to commit before it is refused as busy. */
const MEMBERSHIP_BUSY_WAIT_MS = 3_000;
/** How long the answer to a membership change waits for its entry to commit. */
const MEMBERSHIP_COMMIT_WAIT_MS = 15_000;
/** A follower this far behind its leader's commit appends and acks without applying (applier.ts, pace 'yield'). */
const CATCHUP_YIELD_ENTRIES = 1_024;
/** ...while its leader's appends keep coming: without them it applies at full pace (it may have to lead). */
const CATCHUP_YIELD_FRESH_MS = 100;

/**
 * The replica driver: the replication core driven by a clock, the network and
 * the RPC handlers, over four seams: the state machine it replicates and the
 * store of its state, the storage of its log and the transport to its peers.
 * Ops and peer messages that arrive together are handled in one pass
 * (batching.ts). The log is written off the event loop, and what must wait for
 * it does: acks, promises and every other message wait until the writes before
 * them are durable; a leader's appends go out at once (its followers write in
 * parallel) and it counts itself toward commit once its own write is durable;
 * committed entries are applied in batches as far as the log is durable here
 * (applier.ts), and callers hear their outcome then; a follower far behind its
 * leader's commit writes and acks first and applies once its log caught up.
 */
export class ReplicaDriver<Op, Outcome> implements DriverHandle<Op, Outcome>, ReplicaControl {
  readonly id: NodeId;
  readonly events: EventBus;
  private readonly core: ReplicaCore;
  private readonly stateMachine: StateMachine<Op, Outcome>;
  private readonly state: StateStore;
  private readonly log: LogStorage;
  private readonly transport: Transport;
  /** This replica's data directory incarnation (state.identity): carried in every peer message. */
  private readonly incarnation: string;
  private readonly runtime: DriverRuntime;
  private readonly onFatal: (err: Error) => void;
  private readonly batches: BatchAggregator;
  private readonly batcher: PassBatcher<Outcome>;
  private readonly applier: Applier<Op, Outcome>;
  private readonly addresses: PeerAddresses;
  private readonly pendingOps = new PendingOps<Outcome>();
  private readonly pendingConfigs: PendingConfigs;
  private readonly readyWaiters: ReadyWaiters;
  /** Messages waiting for the log writes queued before them to be durable. */
  private sendQueue: { seq: number; message: PeerMessage }[] = [];
  /** The sequence number of the last log write queued. */
  private lastSeq = 0;
  /** A leader that has applied everything committed before its epoch (the core says so before the applier is there). */
  private ready = false;
  /** Snapshots received from peers, by sender, until the core says to install them. */
  private readonly incomingSnapshots = new Map<NodeId, ReceivedSnapshot>();
  private readonly appliedListeners = new Set<(a: AppliedOp<Op, Outcome>) => void>();
  private readonly leadershipListeners = new Set<(leading: boolean) => void>();
  private readonly tickMs: number;
  private timer: TimerHandle | undefined;
  private readonly startedAt: number;
  private stopped = false;
  /** Stopping: once it no longer leads it acknowledges no appends (leaveAfterHandOver). */
  private leaving = false;
  /** The commit index its leader's latest append named, and when that came (catch-up: log first). */
  private leaderCommit = 0;
  private lastAppendAt = -Infinity;
  private readonly observeCommit: ((seconds: number) => void) | undefined;

  constructor(options: ReplicaDriverOptions<Op, Outcome>) {
    const { id, members } = options;
    this.id = id;
    this.stateMachine = options.stateMachine;
    this.state = options.state;
    this.log = options.log;
    this.transport = options.transport;
    this.runtime = options.runtime ?? nodeRuntime;
    this.onFatal =
      options.onFatal ??
      ((err) => {
        throw err;
      });
    this.observeCommit = options.observeCommit;
    this.startedAt = this.runtime.now();
    this.tickMs =
      options.tickMs ??
      Math.max(CAMPAIGN_TICK_MS, Math.floor((options.timings?.heartbeatMs ?? DEFAULT_TIMINGS.heartbeatMs) / 2));
    this.addresses = new PeerAddresses(members);
    this.events = new EventBus(id, options.logger);
    this.batches = new BatchAggregator(this.events, 1_000, this.startedAt);
    this.batcher = new PassBatcher(
      () => this.pass(),
      (fn) => this.runtime.setImmediate(fn),
    );
    this.pendingConfigs = new PendingConfigs(this.runtime);
    this.readyWaiters = new ReadyWaiters(this.runtime);
    const mode = options.mode ?? 'in-sync';
    const bootstrap = options.join ? [] : members;
    const initial = ReplicaCore.initialState(bootstrap);
    const applied = this.state.open(options.cluster, mode, {
      lastIndex: initial.base.index,
      lastEpoch: initial.base.epoch,
      config: initial.base.config,
    });
    this.incarnation = this.state.identity(id);
    const resume = resumePoint(this.log.load(initial), applied);
    if (resume.reset) this.lastSeq = this.log.reset(resume.reset.base, resume.reset.keep);
    const persisted = resume.persisted;
    this.applier = new Applier(
      this.stateMachine,
      this.state,
      {
        stableIndex: () => this.log.stableIndex,
        applied: (entry, result) => this.settle(entry, result),
        ready: (epoch) => this.onLeadership(true, epoch),
        compacted: (index) => this.log.compact(index),
        sendSnapshot: (action) => this.sendSnapshot(action),
        defer: (fn) => this.runtime.setImmediate(fn),
        later: (fn, ms) => void this.runtime.setTimeout(fn, ms),
        now: () => this.runtime.now(),
      },
      applied,
    );
    this.log.onDurable(() => this.batcher.wake());
    this.log.onFailure((err) => this.fail(err));
    this.core = new ReplicaCore(
      {
        id,
        bootstrap,
        seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
        timings: options.timings,
        limits: options.limits,
        policy: policyFor(mode),
        awaitDurable: true,
        incarnation: this.incarnation,
      },
      persisted,
      this.startedAt,
    );
    if (resume.reset) {
      this.events.emit(
        'log.reset',
        this.core.epoch,
        `${id}'s state holds a snapshot up to index ${resume.reset.base.index} that its log had not recorded yet (a crash came between): the log starts over there`,
        {
          index: resume.reset.base.index,
        },
        this.startedAt,
      );
    }
    const cfg = this.core.config;
    this.events.emit(
      'replica.started',
      this.core.epoch,
      `${id} started: log ${persisted.base.index + 1}..${persisted.base.index + persisted.entries.length}, applied ${persisted.appliedIndex}; replicas ${describeConfig(cfg)}; it will not lead before it has caught up`,
      {
        lastIndex: this.core.lastIndex,
        applied: persisted.appliedIndex,
        quarantined: this.state.quarantinedCount(),
        incarnation: this.incarnation,
        voters: votersOf(cfg),
        learners: learnersOf(cfg),
      },
      this.startedAt,
    );
    const named = members
      .map((m) => m.id)
      .sort()
      .join(',');
    const configured = cfg.replicas.map((r) => r.id).join(',');
    if (!options.join && cfg.replicas.length > 0 && named !== configured) {
      this.events.emit(
        'membership.differs',
        this.core.epoch,
        `this start names replicas ${named}, but the data directory's configuration has ${configured}; the configuration wins (membership changes move it)`,
        {
          named: named.split(','),
          configured: configured.split(','),
        },
        this.startedAt,
      );
    }
    this.execute(this.core.takeActions());
  }

  /**
   * Starts the clock: a tick every `tickMs` (an idle replica wakes up a few
   * times per heartbeat, no more), every CAMPAIGN_TICK_MS while it campaigns.
   */
  start(): void {
    const next = () => (this.core.currentRole === 'candidate' ? CAMPAIGN_TICK_MS : this.tickMs);
    const tick = () => {
      this.tick();
      if (!this.stopped) this.timer = this.runtime.setTimeout(tick, next());
    };
    this.timer = this.runtime.setTimeout(tick, next());
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.halt(new NotLeaderError(`replica ${this.id} is shutting down`, undefined));
    await this.log.close();
  }

  // ------------------------------------------------------------ DriverHandle

  submit(op: Op): Promise<Outcome> {
    if (this.stopped) return Promise.reject(new NotLeaderError(`replica ${this.id} is shutting down`, undefined));
    if (this.core.currentRole !== 'leader') return Promise.reject(this.notLeader());
    return new Promise((resolve, reject) => {
      this.batcher.propose({ data: this.stateMachine.encode(op), resolve, reject });
    });
  }

  ensureLeaderReady(): Promise<void> {
    if (this.ready && this.core.currentRole === 'leader') return Promise.resolve();
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

  /** A peer message from the network, with where its sender's peer listener is (and a finished snapshot). */
  deliver(message: PeerMessage, fromPeerAddress: string, snapshot?: ReceivedSnapshot): void {
    if (this.stopped) {
      snapshot?.discard();
      return;
    }
    if (this.addresses.learn(message.from, fromPeerAddress, this.core.contacts())) this.linkPeers();
    this.batcher.deliver({ message, snapshot });
  }

  // ---------------------------------------------------------- ReplicaControl

  status(): ReplicaStatusView {
    const now = this.runtime.now();
    return {
      ...this.core.status(now),
      appliedIndex: this.applier.applied.lastIndex,
      uptimeMs: now - this.startedAt,
      writesPerSecond: this.batches.rate,
      address: this.addressOf(this.id),
    };
  }

  /** Counters since start for metrics: the log's writes and syncs, applying. */
  stats(): DriverStats {
    return {
      log: this.log.stats(),
      applied: { ...this.applier.counters, backlog: this.applier.backlog },
    };
  }

  members(): MemberView[] {
    const cfg = this.core.config;
    return cfg.replicas.map((r) => ({
      id: r.id,
      address: this.addressOf(r.id),
      learner: r.learner,
      inSync: cfg.inSync.includes(r.id),
    }));
  }

  async changeMembership(change: MembershipChange): Promise<{ index: number; epoch: number; members: MemberView[] }> {
    if (this.stopped) throw new NotLeaderError(`replica ${this.id} is shutting down`, undefined);
    const busyUntil = this.runtime.now() + MEMBERSHIP_BUSY_WAIT_MS;
    let result: MembershipResult;
    for (;;) {
      result = this.core.changeMembership(change, this.runtime.now());
      this.execute(this.core.takeActions());
      if (result.ok || result.reason !== 'busy' || this.runtime.now() >= busyUntil || this.stopped) break;
      // Another config entry (often an in-sync set change) is being committed: that takes milliseconds.
      await new Promise<void>((r) => this.runtime.setTimeout(r, 20));
    }
    if (!result.ok) {
      if (result.reason === 'not_leader') throw this.notLeader();
      throw new MembershipError(result.reason, result.message);
    }
    const { index, epoch } = result;
    const committed = this.pendingConfigs.wait(
      index,
      epoch,
      MEMBERSHIP_COMMIT_WAIT_MS,
      () =>
        new MembershipError(
          'not_committed',
          `the change is in the log at index ${index} but was not committed within ${MEMBERSHIP_COMMIT_WAIT_MS / 1000} s; see the cluster status`,
        ),
    );
    if (this.applier.applied.lastIndex >= index)
      this.pendingConfigs.settle(index, this.core.entryAt(index)?.epoch ?? -1);
    await committed;
    const present = this.core.config.replicas.some((r) => r.id === change.id);
    if (present !== (change.type === 'add')) {
      throw new MembershipError(
        'abandoned',
        `the change was committed at index ${index} but undone since (see the cluster events); the replicas are now ${describeConfig(this.core.config)}`,
      );
    }
    return { index, epoch, members: this.members() };
  }

  digest(): { appliedIndex: number; digest: string } {
    return { appliedIndex: this.applier.applied.lastIndex, digest: this.stateMachine.digest() };
  }

  forceLeader(): { ok: true; epoch: number } | { ok: false; reason: string } {
    const result = this.core.forceLeader(this.runtime.now());
    this.execute(this.core.takeActions());
    return result;
  }

  async backup(): Promise<SnapshotImage> {
    // On the leader, once it has applied everything committed before its epoch: every acknowledged write is in.
    await this.ensureLeaderReady();
    // Taken now, between applies: the state is exactly the applier's position.
    return this.stateMachine.snapshot(this.applier.applied);
  }

  /**
   * This replica is about to stop (its leadership handed over first): from the
   * moment it no longer leads it acknowledges no appends. Otherwise it could
   * answer the new leader's first appends before it stops and be taken back
   * into that leader's in-sync set, whose writes would then wait a sync timeout
   * for it to be dropped again. It still answers campaigns, so the hand-over
   * goes through.
   */
  leaveAfterHandOver(): void {
    this.leaving = true;
  }

  async transferLeadership(
    target?: NodeId,
    timeoutMs = TRANSFER_WAIT_MS,
  ): Promise<{ leaderId: NodeId; epoch: number }> {
    if (this.stopped || this.core.currentRole !== 'leader') throw this.notLeader();
    const started = this.core.transferLeadership(target, this.runtime.now());
    this.execute(this.core.takeActions());
    if (!started.ok) throw new TransferError(started.reason);
    const deadline = this.runtime.now() + timeoutMs;
    for (;;) {
      const leader = this.core.leader;
      if (this.core.currentRole !== 'leader' && leader !== '' && leader !== this.id)
        return { leaderId: leader, epoch: this.core.epoch };
      if (this.core.currentRole === 'leader' && this.core.transferringTo === undefined) {
        throw new TransferError(`${started.to} did not take over in time; ${this.id} leads on`);
      }
      if (this.runtime.now() >= deadline || this.stopped) {
        throw new TransferError(
          `${this.id} handed leadership to ${started.to}, but no new leader made itself known within ${timeoutMs} ms; see the cluster status`,
        );
      }
      await new Promise<void>((resolve) => this.runtime.setTimeout(resolve, 5));
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

  /** Everything that arrived since the last pass goes through the core together, with how far the log is durable. */
  private pass(): void {
    if (this.stopped) return;
    const now = this.runtime.now();
    const { arrivals, proposals } = this.batcher.take();
    this.core.logDurable(this.log.stableIndex, now);
    for (const { message, snapshot } of arrivals) {
      if (snapshot) {
        this.incomingSnapshots.get(message.from)?.discard();
        this.incomingSnapshots.set(message.from, snapshot);
      }
      this.core.receive(message, now);
      // Only its own leader's latest word counts: a stale or refused sender's, or a commit index from before a
      // forced leader started another history, would keep it from applying for good.
      if (message.body.type === 'append' && message.from === this.core.leader && message.epoch === this.core.epoch) {
        this.leaderCommit = message.body.commitIndex;
        this.lastAppendAt = now;
      }
    }
    if (proposals.length > 0) {
      const result = this.core.propose(
        proposals.map((p) => p.data),
        now,
      );
      if (result.ok) {
        this.pendingOps.add(result.firstIndex, result.epoch, proposals, now);
      } else {
        // A leader handing over names no leader: the client looks for the new one after a short backoff.
        const handingTo = this.core.transferringTo;
        const err = handingTo
          ? new NotLeaderError(`replica ${this.id} is handing leadership to ${handingTo}; retry`, undefined)
          : this.notLeader();
        for (const p of proposals) p.reject(err);
      }
    }
    this.execute(this.core.takeActions());
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.runtime.now();
    this.core.tick(now);
    this.execute(this.core.takeActions());
    this.batches.flush(now, this.core.epoch, this.core.currentRole, this.core.commit);
  }

  /**
   * Carries out the core's actions in order: log writes are queued (and
   * flushed once, at the end); messages wait for the writes queued before them
   * unless they are a leader's appends; committed entries and what follows
   * them go to the applier. Then whatever the writes that became durable since
   * let go: messages, applies.
   */
  private execute(actions: Action[]): void {
    if (this.stopped) return;
    const now = this.runtime.now();
    for (const a of actions) {
      switch (a.type) {
        case 'persist': {
          if (a.quarantine.length > 0) {
            // Durable before the log write that drops them is queued: a crash must not lose them from both.
            this.state.transaction(
              () => this.state.quarantine(a.quarantine, now, 'divergent uncommitted entries replaced by the leader'),
              true,
            );
          }
          this.lastSeq = this.log.append({ truncateFrom: a.truncateFrom, entries: a.entries, hard: a.hard });
          if (a.entries.length > 0)
            this.batches.appended(
              a.entries.length,
              a.entries.reduce((s, e) => s + e.data.byteLength, 0),
            );
          break;
        }
        case 'send':
          // A leader's appends need not wait for its own write (its followers write in parallel; it counts itself
          // toward commit only once durable). Everything else vouches for what was written before it.
          if (a.message.body.type === 'append' || this.lastSeq <= this.log.durableSeq) this.send(a.message);
          else this.sendQueue.push({ seq: this.lastSeq, message: a.message });
          break;
        case 'apply':
          this.applier.push({ type: 'entries', entries: a.entries });
          this.batches.applied(a.entries.filter((e) => e.kind === 'op').length);
          break;
        case 'compact':
          this.applier.push({ type: 'compact', index: a.base.index });
          break;
        case 'installSnapshot':
          this.installSnapshot(a, now);
          break;
        case 'sendSnapshot':
          this.applier.push({ type: 'sendSnapshot', action: a });
          break;
        case 'leadership':
          // Stepping down counts at once (no more reads served); being ready waits for the applies before it.
          if (!a.leading) this.onLeadership(false, a.epoch);
          else this.applier.push({ type: 'ready', epoch: a.epoch });
          break;
        case 'event':
          this.events.emit(a.kind, a.epoch, a.message, a.fields, now);
          break;
      }
    }
    this.log.flush();
    this.flushSends();
    // A follower serves no reads: it applies in larger batches, or not at all while far behind its leader's commit
    // with the leader's appends still coming (its log comes first); a candidate or a leader applies everything at once.
    const farBehind =
      this.leaderCommit - this.core.lastIndex > CATCHUP_YIELD_ENTRIES &&
      now - this.lastAppendAt < CATCHUP_YIELD_FRESH_MS;
    this.applier.pace(this.core.currentRole !== 'follower' ? 'full' : farBehind ? 'yield' : 'gather');
    this.applier.run();
    this.linkPeers();
  }

  /** Sends what waited for log writes that are durable now. */
  private flushSends(): void {
    const durable = this.log.durableSeq;
    let sent = 0;
    while (sent < this.sendQueue.length && this.sendQueue[sent]!.seq <= durable)
      this.send(this.sendQueue[sent++]!.message);
    if (sent > 0) this.sendQueue = this.sendQueue.slice(sent);
  }

  /** A message to a peer, unless this replica is leaving and it would count it in a new leader's in-sync set. */
  private send(message: PeerMessage): void {
    if (this.leaving && message.body.type === 'appendReply' && this.core.currentRole !== 'leader') return;
    this.transport.send(message);
  }

  /**
   * Replaces the state by the snapshot just received, durably, then queues the
   * log's new start: the state must never be behind the log's base.
   */
  private installSnapshot(a: Extract<Action, { type: 'installSnapshot' }>, now: number): void {
    const snapshot = this.incomingSnapshots.get(a.from);
    if (!snapshot) throw new Error(`snapshot from ${a.from} to install is missing`);
    this.incomingSnapshots.delete(a.from);
    const data = snapshot.read();
    snapshot.discard();
    const position = { lastIndex: a.base.index, lastEpoch: a.base.epoch, config: a.base.config };
    this.state.transaction(() => {
      this.stateMachine.restore(data);
      this.state.quarantine(a.quarantine, now, a.reason);
      this.state.setApplied(position);
    }, true);
    this.applier.restored(position);
    const keep: Entry[] = [];
    for (let i = a.keepFrom; i <= this.core.lastIndex; i++) keep.push(this.core.entryAt(i)!);
    this.lastSeq = this.log.reset(a.base, keep);
  }

  /** An entry was applied: its caller hears the outcome, listeners the op. */
  private settle(entry: Entry, result: AppliedEntry<Op, Outcome> | undefined): void {
    if (entry.kind === 'config') this.pendingConfigs.settle(entry.index, entry.epoch);
    const proposedAt = this.pendingOps.settle(entry.index, entry.epoch, result?.outcome);
    if (proposedAt !== undefined && this.observeCommit) this.observeCommit((this.runtime.now() - proposedAt) / 1000);
    if (!result || result.op === undefined) return;
    const event: AppliedOp<Op, Outcome> = { index: entry.index, op: result.op, outcome: result.outcome };
    for (const l of this.appliedListeners) l(event);
  }

  private onLeadership(leading: boolean, epoch: number): void {
    // Ready in an epoch this replica no longer leads: stale news.
    if (leading && (this.core.currentRole !== 'leader' || this.core.epoch !== epoch)) return;
    this.ready = leading;
    if (leading) {
      this.readyWaiters.resolveAll();
    } else {
      this.readyWaiters.rejectAll(this.notLeader());
      this.pendingOps.rejectAll(
        new NotLeaderError('this replica stopped leading before the op was committed; retry', undefined),
      );
      this.pendingConfigs.rejectAll(
        new NotLeaderError(
          'this replica stopped leading before the configuration change was committed; check the cluster status',
          undefined,
        ),
      );
    }
    for (const l of this.leadershipListeners) l(leading);
  }

  private sendSnapshot(a: SendSnapshot): void {
    const started = this.runtime.now();
    this.stateMachine
      .snapshot({ lastIndex: a.lastIndex, lastEpoch: a.lastEpoch, config: a.config })
      .then(async (image) => {
        await this.transport.sendSnapshot(
          a.to,
          { epoch: this.core.epoch, force: a.force, incarnation: this.incarnation },
          { lastIndex: image.lastIndex, lastEpoch: image.lastEpoch, config: image.config },
          image.data,
        );
        if (!this.stopped) {
          this.core.snapshotDelivered(a.to, this.runtime.now());
          this.execute(this.core.takeActions());
        }
        this.events.emit(
          'snapshot.transferred',
          this.core.epoch,
          `${this.id} streamed a ${Math.round(image.data.length / 1024)} KiB snapshot up to index ${image.lastIndex} to ${a.to}`,
          {
            to: a.to,
            bytes: image.data.length,
            ms: this.runtime.now() - started,
            lastIndex: image.lastIndex,
          },
          this.runtime.now(),
        );
      })
      .catch((err: Error) => {
        if (this.stopped) return;
        this.events.emit(
          'snapshot.failed',
          this.core.epoch,
          `${this.id} could not send a snapshot to ${a.to}: ${err.message}`,
          { to: a.to },
          this.runtime.now(),
        );
        this.core.snapshotFailed(a.to, this.runtime.now());
        this.execute(this.core.takeActions());
      });
  }

  /** Stops everything at once: timers, passes, applies; every waiting caller hears `err`. */
  private halt(err: Error): void {
    this.stopped = true;
    if (this.timer) this.runtime.clearTimeout(this.timer);
    this.applier.stop();
    this.sendQueue = [];
    this.pendingOps.rejectAll(err);
    this.batcher.rejectProposals(err);
    this.readyWaiters.rejectAll(err);
    this.pendingConfigs.rejectAll(err);
    this.transport.close();
    for (const snapshot of this.incomingSnapshots.values()) snapshot.discard();
    this.incomingSnapshots.clear();
  }

  /** The disk failed under the log or the state: crash-stop, saying why. */
  private fail(err: Error): void {
    if (this.stopped) return;
    this.halt(new NotLeaderError(`replica ${this.id} stopped: its disk failed`, undefined));
    this.onFatal(err);
  }
}
