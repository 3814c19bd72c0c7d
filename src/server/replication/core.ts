import { logAtLeast, ReplicaLog } from './log.js';
import {
  configNewer,
  describeConfig,
  EPOCH_SLOTS,
  encodeConfig,
  forcedConfig,
  forcedEpoch,
  initialConfig,
  isVoter,
  learnersOf,
  MAX_REPLICAS,
  nextEpochOfSlot,
  recordedIncarnation,
  replicaOf,
  votersOf,
  withDemoted,
  withInSync,
  withLearner,
  withPromoted,
  withRecorded,
  without,
} from './membership.js';
import { IN_SYNC_POLICY, type CampaignVerdict, type QuorumPolicy } from './quorum.js';
import { Rng } from './rng.js';
import {
  DEFAULT_LIMITS,
  DEFAULT_TIMINGS,
  type Action,
  type Config,
  type ConfigReplica,
  type Entry,
  type HardState,
  type LogBase,
  type MembershipChange,
  type MembershipRefusal,
  type MembershipResult,
  type NodeId,
  type PeerBody,
  type PeerInfo,
  type PeerMessage,
  type PersistedState,
  type ReplicationLimits,
  type ReplicationTimings,
  type Role,
} from './types.js';

export interface CoreOptions {
  id: NodeId;
  /**
   * The replicas of a new cluster, this one included, used only when there is
   * no persisted state. Empty for a replica that waits to be added to a
   * running cluster.
   */
  bootstrap: readonly { id: NodeId; address: string; peerAddress?: string }[];
  /** Seeds the election timeouts; the core has no other randomness. */
  seed: number;
  timings?: Partial<ReplicationTimings>;
  limits?: Partial<ReplicationLimits>;
  policy?: QuorumPolicy;
  /**
   * The incarnation of this replica's data directory (drawn when the directory was created; '' when unknown). Every
   * message carries it, and the configuration records the one the cluster counts on (see docs/replication.md).
   */
  incarnation?: string;
  /**
   * False (the default): every `persist` is durable once carried out, before the next action. True: the driver writes
   * the log asynchronously and reports progress with `logDurable`; a leader's appends may go out before its own write
   * is durable, and it counts itself toward commit only up to what is durable (Raft's §10.2.1).
   */
  awaitDurable?: boolean;
}

export type ProposeResult = { ok: true; firstIndex: number; epoch: number } | { ok: false; leaderId: NodeId };

/** Where the leader stands with one follower. */
interface Progress {
  /** Highest index known to be durable on the follower and equal to ours. */
  match: number;
  /** Next index to send. */
  next: number;
  /** probe: one append at a time until the logs match; replicate: pipelined; snapshot: waiting for one to install. */
  state: 'probe' | 'replicate' | 'snapshot';
  lastAck: number;
  lastSent: number;
  lastProgress: number;
  reportedLast: number;
  snapshotSentAt: number;
  /** The last index of the snapshot in flight. */
  snapshotIndex: number;
  /** When the transport confirmed the follower received the snapshot (0: not yet). */
  snapshotDeliveredAt: number;
  /** After a failed snapshot transfer, wait before building another. */
  snapshotBackoffUntil: number;
  catchupFrom?: { at: number; match: number };
  /** The incarnation of the data directory whose acks `match` counts (undefined until it answers). */
  incarnation: string | undefined;
  /** The follower's session in the reply that last raised `match`: a log behind `match` in a later session was lost. */
  ackSession: number;
  /** When the follower last held this leader's commit index (for how long it has been behind). */
  heldCommitAt: number;
}

interface Campaign {
  phase: 'pre' | 'real';
  epoch: number;
  recovery: boolean;
  forced: boolean;
  /** Asked for by the leader (timeoutNow): no pre-vote, and peers do not refuse it for hearing that leader lately. */
  transfer: boolean;
  granted: Set<NodeId>;
  refused: Map<NodeId, string>;
  infos: Map<NodeId, PeerInfo>;
  /** The incarnations the promisers answered from. */
  incarnations: Map<NodeId, string>;
  deadline: number;
  lastSent: number;
}

export interface PeerStatus {
  id: NodeId;
  matchIndex: number;
  lagEntries: number;
  lastAckAgo: number;
  inSync: boolean;
  learner: boolean;
  state: Progress['state'];
  /** For how long it has not held this leader's commit index (0: it holds it). */
  behindMs: number;
  /** It lost data it acknowledged (another data directory, or a log behind its acks) and is being brought back. */
  dataLost: boolean;
}

export interface CoreStatus {
  id: NodeId;
  role: Role;
  epoch: number;
  leaderId: NodeId;
  lastIndex: number;
  lastEpoch: number;
  commitIndex: number;
  appliedIndex: number;
  logStartIndex: number;
  inSync: NodeId[];
  /** The configuration at the end of the log: voters and learners with their addresses. */
  config: Config;
  /** Whether this replica votes in that configuration (false: a learner, or not a member). */
  voter: boolean;
  caughtUp: boolean;
  leaderContactAgo: number;
  waitingFor: NodeId[];
  waitingReason: string;
  peers: PeerStatus[];
  mode: string;
  /** The highest force this replica follows (0: none); see docs/replication.md, "Forcing a leader". */
  force: number;
  /** Told of a force its log does not hold yet: it catches up from that history and takes no part in elections. */
  leftBehind: boolean;
  /** This replica's data directory incarnation, and the one its configuration records for it. */
  incarnation: string;
  recordedIncarnation: string;
  /** The configuration records another data directory for this replica: it lost its data and waits to be brought back. */
  dataLost: boolean;
}

/** Why a replica with no configuration (started to join, not added yet) neither leads nor follows. */
export const NOT_A_MEMBER_YET = 'not a member of a cluster yet: waiting to be added (chat-ops add-replica)';

/**
 * One replica's replication state machine. Events go in (tick, receive,
 * propose, changeMembership, forceLeader, campaignNow, snapshotDelivered,
 * snapshotFailed, logDurable); actions come out (takeActions) and must be
 * carried out in order: every `persist` durable before any later `send`, except
 * (with awaitDurable) a leader's `append` messages, which may go out while its
 * own write is in flight.
 *
 * Sessions: a replica draws a session number when it starts and again when it
 * notices a pause in its own running time. Requests (appends, promise requests,
 * probes) carry their sender's session and replies echo it; an append also
 * names, for a follower of the leader's in-sync set, the follower's session as
 * last heard from it. So a follower counts as caught up only on an append that
 * names its current session (the leader heard from it since it last started or
 * resumed), and a replica counts only replies that echo its current session
 * (answers to what it sent since it last resumed). A message sent before a
 * pause proves nothing after it.
 */
export class ReplicaCore {
  readonly id: NodeId;
  private readonly timings: ReplicationTimings;
  private readonly limits: ReplicationLimits;
  private readonly policy: QuorumPolicy;
  private readonly rng: Rng;
  private readonly awaitDurable: boolean;
  /** With awaitDurable: the end of the prefix of this replica's log known to be durable. */
  private durableIndex: number;

  private hard: HardState;
  private readonly log: ReplicaLog;
  private role: Role = 'follower';
  private leaderId: NodeId = '';
  private caughtUp = false;
  private commitIndex: number;
  private appliedIndex: number;
  private lastLeaderContact = Number.NEGATIVE_INFINITY;
  private electionDeadline: number;
  private campaign: Campaign | undefined;
  private readonly progress = new Map<NodeId, Progress>();
  private leaderStartIndex = 0;
  private leaderReady = false;
  /** As leader: a leadership transfer under way (see transferLeadership). */
  private transfer: { to: NodeId; deadline: number; lastSent: number } | undefined;
  private readonly known = new Map<NodeId, { info: PeerInfo; at: number; epoch: number }>();
  private contactsFor: { committed: Config; latest: Config; map: ReadonlyMap<NodeId, ConfigReplica> } | undefined;
  private lastProbe = Number.NEGATIVE_INFINITY;
  private maxEpochSeen = 0;
  private waitingFor: NodeId[] = [];
  private waitingReason = '';
  private now: number;
  /** When this replica last handled an event: a longer gap than three heartbeats to the next one is a pause. */
  private lastRunAt: number | undefined;
  private readonly bootedAt: number;
  /** This replica's session (see the class comment): drawn at start and after every pause, never 0. */
  private session = 0;
  /** The latest session heard from each peer. */
  private readonly peerSessions = new Map<NodeId, number>();
  /** As a follower: the session of the current leader, from its last append (replies echo it). */
  private leaderSession = 0;
  /**
   * In-sync mode, as a leader that resumed after a pause: the members of the in-sync set that have not yet answered
   * anything it sent since (nor been dropped for silence). Until they all have, it commits nothing, vouches for nobody
   * and changes nothing (see resumeAfterPause).
   */
  private awaitingFreshAcks: Set<NodeId> | undefined;
  /** This replica's data directory incarnation. */
  private readonly incarnation: string;
  /** The incarnation each peer last answered from. */
  private readonly peerIncarnations = new Map<NodeId, string>();
  /** As a leader: followers that lost data they acknowledged, not counted for commit until readmitted. */
  private readonly dataLost = new Set<NodeId>();
  /** Left behind by a force: the first index where its applied log leaves the forced history (a snapshot replaces it). */
  private rewindFrom: number | undefined;
  /** The lineage of the leader whose commit index this replica last took (its own as leader): what its applies are committed under. */
  private commitForce = 0;
  /** Whether it last found its configuration recording another data directory for it (an event on each change). */
  private knownLost = false;
  private actions: Action[] = [];

  constructor(options: CoreOptions, persisted: PersistedState | undefined, now: number) {
    this.id = options.id;
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.policy = options.policy ?? IN_SYNC_POLICY;
    this.rng = new Rng(options.seed);
    this.incarnation = options.incarnation ?? '';
    this.awaitDurable = options.awaitDurable ?? false;
    const state = persisted ?? ReplicaCore.initialState(options.bootstrap);
    this.hard = { ...state.hard };
    this.log = new ReplicaLog(state.base, state.entries);
    this.durableIndex = this.log.lastIndex;
    this.appliedIndex = Math.max(state.appliedIndex, state.base.index);
    this.commitIndex = this.appliedIndex;
    this.commitForce = this.log.configAt(this.commitIndex).force;
    this.maxEpochSeen = this.hard.epoch;
    this.now = now;
    this.bootedAt = now;
    this.electionDeadline = now + this.randomElectionTimeout();
    this.session = this.drawSession();
    // A replica that may not campaign says why from the start (its status may be asked before its first tick).
    if (!this.mayCampaign) this.waitingReason = this.nonVoterReason();
  }

  /** The state of a replica that has never run: an empty log, everyone in sync (or, for a replica to be added, no configuration). */
  static initialState(bootstrap: readonly { id: NodeId; address: string; peerAddress?: string }[]): PersistedState {
    const config = initialConfig(bootstrap);
    return { hard: { epoch: 0, promisedTo: '' }, base: { index: 0, epoch: 0, config }, entries: [], appliedIndex: 0 };
  }

  takeActions(): Action[] {
    const out = this.actions;
    this.actions = [];
    return out;
  }

  // ---------------------------------------------------------------- queries

  get currentRole(): Role {
    return this.role;
  }
  get epoch(): number {
    return this.hard.epoch;
  }
  get leader(): NodeId {
    return this.leaderId;
  }
  get commit(): number {
    return this.commitIndex;
  }
  get applied(): number {
    return this.appliedIndex;
  }
  get lastIndex(): number {
    return this.log.lastIndex;
  }
  get isCaughtUp(): boolean {
    return this.caughtUp;
  }
  /** A leader that has applied everything committed before its epoch, so its reads are complete. */
  get isReadyLeader(): boolean {
    return this.role === 'leader' && this.leaderReady;
  }
  entryAt(index: number): Entry | undefined {
    return this.log.entry(index);
  }
  /** Where the applied state stands in the log (its last entry, that entry's epoch, the configuration there): for a snapshot of it. */
  appliedBase(): LogBase {
    const index = this.appliedIndex;
    return { index, epoch: this.log.epochAt(index)!, config: this.log.configAt(index) };
  }
  /** As leader: the follower a leadership transfer under way hands over to. */
  get transferringTo(): NodeId | undefined {
    return this.transfer?.to;
  }
  /** The in-sync set at the end of the log. */
  inSyncSet(): NodeId[] {
    return [...this.log.latestConfig().inSync];
  }
  /** The configuration at the end of the log (in force, committed or not). */
  get config(): Config {
    return this.log.latestConfig();
  }
  /** The lineage this replica follows: the highest force in its log or that it was told of (0: none). */
  get lineage(): number {
    return Math.max(this.hard.force ?? 0, this.log.latestConfig().force);
  }
  /** The lineage of the leader whose commit index it last took: the history its latest applies were committed in. */
  get committedLineage(): number {
    return this.commitForce;
  }

  /**
   * The other replicas this one may need to reach, with the addresses the
   * configuration gives: those of the latest configuration and those of the
   * committed one (a replica being removed hears of its removal).
   */
  contacts(): ReadonlyMap<NodeId, ConfigReplica> {
    const committed = this.log.configAt(this.commitIndex);
    const latest = this.log.latestConfig();
    // Asked for on every peer message and every pass: the same map until either configuration moves.
    if (this.contactsFor?.committed === committed && this.contactsFor.latest === latest) return this.contactsFor.map;
    const map = new Map<NodeId, ConfigReplica>();
    for (const r of committed.replicas) map.set(r.id, r);
    for (const r of latest.replicas) map.set(r.id, r);
    map.delete(this.id);
    this.contactsFor = { committed, latest, map };
    return map;
  }

  /** Every other replica of the configuration, voters and learners: whom a leader replicates to. */
  private get peers(): NodeId[] {
    return this.log
      .latestConfig()
      .replicas.filter((r) => r.id !== this.id)
      .map((r) => r.id);
  }

  /** The other voting members: whom a candidate asks for promises. */
  private get voterPeers(): NodeId[] {
    return votersOf(this.log.latestConfig()).filter((m) => m !== this.id);
  }

  private get isVoter(): boolean {
    return isVoter(this.log.latestConfig(), this.id);
  }

  status(now: number): CoreStatus {
    const cfg = this.log.latestConfig();
    const peers: PeerStatus[] = [];
    if (this.role === 'leader') {
      for (const p of this.peers) {
        const pr = this.progress.get(p);
        if (!pr) continue;
        peers.push({
          id: p,
          matchIndex: pr.match,
          lagEntries: Math.max(0, this.log.lastIndex - pr.match),
          lastAckAgo: Number.isFinite(pr.lastAck) ? now - pr.lastAck : -1,
          inSync: cfg.inSync.includes(p),
          learner: replicaOf(cfg, p)?.learner ?? false,
          state: pr.state,
          behindMs: pr.match >= this.commitIndex ? 0 : Math.max(0, now - pr.heldCommitAt),
          dataLost: this.dataLost.has(p),
        });
      }
    }
    return {
      id: this.id,
      role: this.role,
      epoch: this.hard.epoch,
      leaderId: this.leaderId,
      lastIndex: this.log.lastIndex,
      lastEpoch: this.log.lastEpoch,
      commitIndex: this.commitIndex,
      appliedIndex: this.appliedIndex,
      logStartIndex: this.log.base.index + 1,
      inSync: [...cfg.inSync],
      config: cfg,
      voter: isVoter(cfg, this.id),
      caughtUp: this.caughtUp,
      leaderContactAgo:
        this.role === 'leader' ? 0 : Number.isFinite(this.lastLeaderContact) ? now - this.lastLeaderContact : -1,
      waitingFor: [...this.waitingFor],
      waitingReason: this.waitingReason,
      peers,
      mode: this.policy.name,
      force: this.lineage,
      leftBehind: this.leftBehind,
      incarnation: this.incarnation,
      recordedIncarnation: recordedIncarnation(cfg, this.id),
      dataLost: this.ownDataLost(cfg),
    };
  }

  // ----------------------------------------------------------------- events

  tick(now: number): void {
    this.advance(now);
    if (this.role === 'leader') this.leaderTick();
    else if (this.role === 'candidate') this.campaignTick();
    else this.followerTick();
  }

  /** Appends client ops on the leader. They commit later; `apply` actions carry them. */
  propose(data: readonly Uint8Array[], now: number): ProposeResult {
    this.advance(now);
    // A leader handing over takes no new entries: its target must catch up with a log that stands still.
    if (this.role !== 'leader' || this.transfer) return { ok: false, leaderId: this.leaderId };
    const firstIndex = this.log.lastIndex + 1;
    const entries: Entry[] = data.map((d, i) => ({
      index: firstIndex + i,
      epoch: this.hard.epoch,
      kind: 'op',
      data: d,
    }));
    this.appendAsLeader(entries);
    return { ok: true, firstIndex, epoch: this.hard.epoch };
  }

  /**
   * The operator override after a total outage: lead with this replica alone
   * committing (in-sync mode: the in-sync set; majority mode: the only voter,
   * the others learners until back in step), accepting the loss of writes only
   * others held. The force starts a new lineage, fenced against the history it
   * supersedes (docs/replication.md, "Forcing a leader"):
   * - its epoch opens an era of this replica's own (forcedEpoch), above every
   *   epoch of any history that does not know of the force;
   * - its first configuration records that epoch as the lineage, and every
   *   message carries its sender's lineage: no replica follows, promises to or
   *   takes the epoch of a lower one (receive), and one that hears of a higher
   *   one is left behind (learnOfForce) until it has caught up, by a snapshot
   *   when what it applied lies outside the forced history, its divergent
   *   entries going to quarantine.
   */
  forceLeader(now: number): { ok: true; epoch: number } | { ok: false; reason: string } {
    this.advance(now);
    if (this.role === 'leader') return { ok: false, reason: `${this.id} already leads epoch ${this.hard.epoch}` };
    if (!this.mayCampaign)
      return {
        ok: false,
        reason: `${this.id} is not a voting member of the cluster (${describeConfig(this.log.latestConfig())})`,
      };
    if (this.leaderId && now - this.lastLeaderContact < this.timings.electionMinMs) {
      return {
        ok: false,
        reason: `leader ${this.leaderId} is alive; forcing is only for when no leader can be elected`,
      };
    }
    // A new data directory holds nothing to lead from, and remembers no epoch it led: forcing it would abandon every
    // write and could reuse the forced epoch of the directory it replaces.
    if (this.log.lastIndex === 0) {
      return {
        ok: false,
        reason: `${this.id}'s data directory is new (its log is empty): it holds nothing to lead from; force a replica that holds the cluster's data`,
      };
    }
    if (this.ownDataLost(this.newestKnownConfig())) {
      return {
        ok: false,
        reason: `${this.id}'s data directory is not the one the cluster knows as ${this.id} (it lost its data); force a replica that holds the cluster's data`,
      };
    }
    const epoch = forcedEpoch(this.ownSlot(), Math.max(this.hard.epoch, this.maxEpochSeen, this.lineage));
    this.setHard({ epoch, promisedTo: this.id });
    this.campaign = {
      phase: 'real',
      epoch,
      recovery: true,
      forced: true,
      transfer: false,
      granted: new Set(),
      refused: new Map(),
      infos: new Map(),
      incarnations: new Map(),
      deadline: now,
      lastSent: now,
    };
    // Left behind by an earlier force it has not caught up with, it supersedes that history too: when no replica of it
    // can come back (its leader lost its data), this is the way out, and what only that history held is abandoned.
    const supersedes = this.leftBehind
      ? `, and so is the history forced at epoch ${this.hard.force}, which it has not caught up with`
      : '';
    this.emit(
      'election.forced',
      `${this.id} was forced to lead epoch ${epoch} by an operator; writes held only by other replicas are abandoned${supersedes}`,
      {
        epoch,
        lastIndex: this.log.lastIndex,
        waitingFor: this.waitingFor,
      },
    );
    this.becomeLeader();
    return { ok: true, epoch };
  }

  /**
   * Campaigns now rather than when its election timeout passes (etcd's Campaign); the scenario tests use it to say
   * who runs. Nothing else is skipped: only a voter that would campaign on a timeout does (caught up and in the
   * in-sync set, or the one a total outage waits for), a pre-vote comes first, and its peers answer as they would.
   */
  campaignNow(now: number): boolean {
    this.advance(now);
    if (this.role !== 'follower' || !this.mayCampaign) return false;
    const bar = this.campaignBar(this.newestKnownConfig());
    if (bar) {
      this.setWaiting([], bar);
      return false;
    }
    if (!this.policy.adaptiveSet || (this.caughtUp && this.log.latestConfig().inSync.includes(this.id)))
      this.startCampaign(false);
    else if (this.recoveryEligible()) this.startCampaign(true);
    else return false;
    return true;
  }

  /**
   * With awaitDurable: this replica's log is durable up to `index` (as far as it still holds what was written there). A
   * leader may now count itself for those entries.
   */
  logDurable(index: number, now: number): void {
    this.advance(now);
    this.durableIndex = Math.min(index, this.log.lastIndex);
    this.advanceCommit();
  }

  /** The transport confirmed that a live follower received every chunk of the snapshot. */
  snapshotDelivered(to: NodeId, now: number): void {
    this.advance(now);
    const pr = this.role === 'leader' ? this.progress.get(to) : undefined;
    if (pr?.state === 'snapshot') pr.snapshotDeliveredAt = now;
  }

  /** The transport could not deliver a snapshot (the peer is down or the stream broke). */
  snapshotFailed(to: NodeId, now: number): void {
    this.advance(now);
    const pr = this.role === 'leader' ? this.progress.get(to) : undefined;
    if (!pr || pr.state !== 'snapshot') return;
    pr.state = 'probe';
    pr.snapshotBackoffUntil = now + Math.max(1_000, 4 * this.timings.electionMinMs);
    pr.lastSent = now;
  }

  /**
   * Leadership transfer (Raft's TimeoutNow): hands leadership to `target`, or
   * when none is named to the most up-to-date voter in step (in the in-sync
   * set, in in-sync mode). The leader takes no new entries from now on, brings
   * the target up to its last entry, then tells it to campaign at once
   * (timeoutNow): without a pre-vote, and its peers do not refuse it for having
   * heard this leader lately. This leader grants it and steps down; writes
   * pause for about a round trip instead of an election timeout. If the target
   * has not taken over within two election timeouts, the leader gives up and
   * serves again (`leader.transfer_failed`).
   */
  transferLeadership(
    target: NodeId | undefined,
    now: number,
  ): { ok: true; to: NodeId } | { ok: false; reason: string } {
    this.advance(now);
    if (this.role !== 'leader') return { ok: false, reason: `${this.id} does not lead` };
    if (this.transfer) {
      return target === undefined || target === this.transfer.to
        ? { ok: true, to: this.transfer.to }
        : { ok: false, reason: `${this.id} is already handing leadership to ${this.transfer.to}` };
    }
    if (!this.leaderReady)
      return {
        ok: false,
        reason: `${this.id} has just become leader and has not committed its first entry yet; try again shortly`,
      };
    if (this.awaitingFreshAcks)
      return {
        ok: false,
        reason: `${this.id} has just resumed after a pause and waits to hear from its in-sync set; try again shortly`,
      };
    if (target === this.id) return { ok: false, reason: `${this.id} already leads` };
    const cfg = this.log.latestConfig();
    // Never across lineages: a follower in step holds everything committed, the configuration that started this
    // leader's lineage included, so it is not left behind by it; one that lost its data is never a target either.
    const eligible = (p: NodeId) =>
      this.voterPeers.includes(p) &&
      (!this.policy.adaptiveSet || cfg.inSync.includes(p)) &&
      this.isInStep(p) &&
      !this.dataLost.has(p);
    let to = target;
    if (to === undefined) {
      const best = this.voterPeers
        .filter(eligible)
        .sort((a, b) => this.progress.get(b)!.match - this.progress.get(a)!.match || a.localeCompare(b))[0];
      if (!best)
        return {
          ok: false,
          reason: `no other voting replica is in step with ${this.id} to take over (${describeConfig(cfg)})`,
        };
      to = best;
    } else if (!this.voterPeers.includes(to)) {
      return { ok: false, reason: `${to} is not a voting member of the cluster (${describeConfig(cfg)})` };
    } else if (this.dataLost.has(to)) {
      return { ok: false, reason: `${to} lost its data and is being brought back; try another or wait` };
    } else if (!eligible(to)) {
      return {
        ok: false,
        reason: `${to} is not in step with ${this.id} (it must ack promptly${this.policy.adaptiveSet ? ', be in the in-sync set' : ''} and hold everything committed); try another or wait`,
      };
    }
    this.transfer = { to, deadline: now + 2 * this.timings.electionMinMs, lastSent: Number.NEGATIVE_INFINITY };
    this.emit(
      'leader.transfer_started',
      `${this.id} hands leadership to ${to}: no new writes until ${to} holds its whole log (index ${this.log.lastIndex}) and campaigns`,
      {
        to,
        lastIndex: this.log.lastIndex,
      },
    );
    this.advanceTransfer();
    return { ok: true, to };
  }

  receive(msg: PeerMessage, now: number): void {
    this.advance(now);
    // Any replica of this cluster may write to us: a leader we do not know yet is how a replica being added hears of
    // its cluster, and an epoch has one possible leader whatever our configuration says.
    if (msg.to !== this.id || msg.from === this.id) return;
    if (msg.incarnation !== '') this.peerIncarnations.set(msg.from, msg.incarnation);
    // Lineages before epochs: a history a force superseded counts for nothing here but an answer (which tells its
    // sender), and hearing of a newer one leaves this replica behind (see forceLeader).
    if (msg.force < this.lineage) {
      this.answerLeftBehind(msg);
      return;
    }
    if (msg.force > this.lineage) this.learnOfForce(msg);
    // A pre-vote names an epoch nobody has promised: counting it would let candidates that keep failing pre-votes (a
    // minority cut off for a while) drive each other's epochs up without end.
    if (!(msg.body.type === 'promise' && msg.body.preVote)) this.maxEpochSeen = Math.max(this.maxEpochSeen, msg.epoch);
    const body = msg.body;
    if (body.type === 'promise') {
      this.onPromiseRequest(msg.from, msg.epoch, body, msg.incarnation);
      return;
    }
    if (msg.epoch > this.hard.epoch) {
      // Only a leader of the new epoch can vouch for us in it; a mere reply or probe cannot take that away.
      const fromLeader = body.type === 'append' || body.type === 'snapshot';
      this.becomeFollower(msg.epoch, fromLeader ? msg.from : '', fromLeader);
    }
    switch (body.type) {
      case 'append':
        this.onAppend(msg.from, msg.epoch, body, msg.force);
        break;
      case 'appendReply':
        this.onAppendReply(msg.from, msg.epoch, body, msg.incarnation);
        break;
      case 'promiseReply':
        this.onPromiseReply(msg.from, msg.epoch, body, msg.incarnation);
        break;
      case 'probe':
        this.answerProbe(msg.from, body.session);
        break;
      case 'probeReply':
        this.learnConfig(msg.from, body.info);
        // An answer to a probe sent before this replica's last pause says nothing about who is reachable now.
        if (body.echo !== this.session) break;
        this.known.set(msg.from, { info: body.info, at: now, epoch: msg.epoch });
        this.peerSessions.set(msg.from, body.info.session);
        break;
      case 'snapshot':
        this.onSnapshot(msg.from, msg.epoch, body, msg.force);
        break;
      case 'snapshotReply':
        this.onSnapshotReply(msg.from, msg.epoch, body);
        break;
      case 'timeoutNow':
        this.onTimeoutNow(msg.from, msg.epoch);
        break;
    }
  }

  /** Who this replica is, to a peer that asked; a leader also sends a follower that asked what it lacks. */
  private answerProbe(from: NodeId, session: number): void {
    this.send(from, { type: 'probeReply', info: this.info(), echo: session });
    if (this.role === 'leader' && this.progress.has(from)) this.sendAppend(from);
  }

  // ------------------------------------------------------- forced histories

  /**
   * A message from a replica of a history a force superseded (its lineage is lower than this one's): it must not move
   * this replica's epoch, win its promise or lead it. It gets an answer, which carries this replica's lineage and so
   * tells it that it was left behind; replies to what it was sent before it knew are dropped.
   */
  private answerLeftBehind(msg: PeerMessage): void {
    const b = msg.body;
    switch (b.type) {
      case 'promise':
        this.send(msg.from, {
          type: 'promiseReply',
          preVote: b.preVote,
          granted: false,
          info: this.info(),
          echo: b.session,
          reason: `${msg.from} was left behind: a leader was forced at epoch ${this.lineage}, and that history supersedes the one ${msg.from} holds`,
        });
        break;
      case 'probe':
        this.answerProbe(msg.from, b.session);
        break;
      case 'append':
        this.send(msg.from, {
          type: 'appendReply',
          success: false,
          matchIndex: 0,
          hintIndex: 0,
          lastIndex: this.log.lastIndex,
          session: this.session,
          echo: b.session,
          rewind: false,
        });
        break;
      case 'snapshot':
        this.send(msg.from, { type: 'snapshotReply', lastIndex: b.lastIndex, success: false, echo: 0 });
        break;
      default:
        break;
    }
  }

  /**
   * A replica of a newer forced history wrote to this one: it was left behind. It stops leading or campaigning,
   * forgets what peers of its old history said, and stores the lineage it now follows (with the sender's epoch, unless
   * that is a pre-vote's, which nobody holds yet), so that after a restart too it follows only that history. Until its
   * log holds the force it takes no part in elections; catching up moves what it holds beyond the forced history to
   * quarantine (onAppend, onSnapshot). Every epoch of the newer history is above every epoch of its old one (eras,
   * see forcedEpoch), so its epoch only grows.
   */
  private learnOfForce(msg: PeerMessage): void {
    const was = this.lineage;
    this.emit(
      'replica.left_behind',
      `${this.id} now follows the history of the leader an operator forced at epoch ${msg.force} (heard from ${msg.from}), which supersedes its own: it takes no part in elections until its log holds that force, and whatever it holds beyond that history goes to quarantine`,
      {
        from: msg.from,
        force: msg.force,
        previousForce: was,
        lastIndex: this.log.lastIndex,
        lastEpoch: this.log.lastEpoch,
      },
    );
    this.becomeFollower(
      this.hard.epoch,
      '',
      true,
      `${msg.from} follows a history forced at epoch ${msg.force}, which supersedes this one`,
    );
    this.caughtUp = false;
    this.known.clear();
    this.rewindFrom = undefined;
    const preVote = msg.body.type === 'promise' && msg.body.preVote;
    const epoch = preVote ? this.hard.epoch : Math.max(this.hard.epoch, msg.epoch);
    this.setHard({ epoch, promisedTo: epoch === this.hard.epoch ? this.hard.promisedTo : '', force: msg.force });
    this.electionDeadline = this.now + this.randomElectionTimeout();
  }

  /** Told of a force its log does not hold yet: it catches up from that history and takes no part in elections meanwhile. */
  private get leftBehind(): boolean {
    return (this.hard.force ?? 0) > this.log.latestConfig().force;
  }

  // -------------------------------------------------------- lost data

  /** The configuration records another data directory for `id` than the one it answers from: it lost its data. */
  private incarnationDiffers(config: Config, id: NodeId, incarnation: string): boolean {
    const recorded = recordedIncarnation(config, id);
    return recorded !== '' && incarnation !== '' && recorded !== incarnation;
  }

  /** This replica's data directory is not the one `config` records for it. */
  private ownDataLost(config: Config): boolean {
    return this.incarnationDiffers(config, this.id, this.incarnation);
  }

  /** Why this replica may not campaign (or lead a recovery) now, '' when nothing bars it. */
  private campaignBar(newest: Config): string {
    if (this.leftBehind)
      return `left behind by a leader forced at epoch ${this.hard.force}: it waits for a replica of that history to bring it up to date`;
    if (this.ownDataLost(newest)) {
      return `its data directory (incarnation ${this.incarnation}) is not the one the cluster knows as ${this.id} (${recordedIncarnation(newest, this.id)}): it lost its data, and neither votes nor leads until the leader has brought it back`;
    }
    return '';
  }

  /** Emits replica.data_lost when this replica finds its configuration recording another data directory for it. */
  private noticeOwnDataLoss(newest: Config): void {
    const lost = this.ownDataLost(newest);
    if (lost === this.knownLost) return;
    this.knownLost = lost;
    if (!lost) return;
    this.emit('replica.data_lost', `${this.id}: ${this.campaignBar(newest)}`, {
      replica: this.id,
      incarnation: this.incarnation,
      recorded: recordedIncarnation(newest, this.id),
      self: true,
    });
  }

  /** Every event starts here: a gap since the one before means this replica did not run (see resumeAfterPause). */
  private advance(now: number): void {
    // The first event may come late (a large database to open, a port to bind): that is no pause.
    const gap = this.lastRunAt === undefined ? 0 : now - this.lastRunAt;
    this.now = now;
    this.lastRunAt = now;
    if (gap > 3 * this.timings.heartbeatMs) this.resumeAfterPause(gap);
  }

  /**
   * Silence is measured in this replica's own running time. After a gap
   * between events (its process was paused, or its event loop blocked — a burst
   * of work on an overloaded machine), the messages that would have shown its
   * peers alive are still waiting to be read: judging them now would take them
   * for crashed. So the clocks of silence move on by the gap: a leader does not
   * drop in-sync members on the first tick after it resumes (in-sync mode; in
   * majority mode it still checks its quorum, so a deposed leader stops serving
   * at once), and a follower or candidate gives its leader or its voters the
   * same time back. Only ever a delay, never a shortcut.
   *
   * And after a gap long enough for the others to have dropped it or elected a
   * leader without it, nothing it knew or was told before counts as evidence:
   * what is waiting to be read was sent before they did. So it draws a new
   * session, forgets what its peers told it, treats what it sent before as
   * lost, and in in-sync mode: a follower stops counting as caught up (until an
   * append names its new session), a candidate gives up its campaign, and a
   * leader waits for every member of its in-sync set to answer something it
   * sent since — committing nothing, vouching for nobody — or to be dropped for
   * silence as ever. The pause then costs what a crash and restart would, or less.
   */
  private resumeAfterPause(gap: number): void {
    const inSyncMode = this.policy.adaptiveSet;
    if (this.role === 'leader' && inSyncMode) {
      for (const pr of this.progress.values()) {
        pr.lastAck = Math.min(this.now, pr.lastAck + gap);
        pr.lastProgress = Math.min(this.now, pr.lastProgress + gap);
      }
    } else if (this.role !== 'leader') {
      if (Number.isFinite(this.lastLeaderContact))
        this.lastLeaderContact = Math.min(this.now, this.lastLeaderContact + gap);
      this.electionDeadline += gap;
      if (this.campaign) this.campaign.deadline += gap;
    }
    // Shorter than half the sync timeout, and than an election timeout, nobody can have dropped it from the in-sync
    // set or elected a leader without it (silence is measured from its last message, sent before the gap).
    if (gap < Math.min(this.timings.electionMinMs, this.timings.syncTimeoutMs / 2)) return;
    this.emit(
      'replica.resumed',
      `${this.id} did not run for ${gap} ms (paused or overloaded); it gives its peers that time back before judging them silent, and counts nothing they said before as evidence`,
      { gapMs: gap, role: this.role },
    );
    this.session = this.drawSession();
    this.known.clear();
    if (this.role === 'leader') {
      for (const pr of this.progress.values()) {
        // Whatever was in flight is answered to the old session: resend from what is known to match.
        if (pr.state === 'replicate') {
          pr.state = 'probe';
          pr.next = pr.match + 1;
        }
      }
      if (inSyncMode) {
        const waiting = this.commitSet().filter((m) => m !== this.id);
        this.awaitingFreshAcks = waiting.length > 0 ? new Set(waiting) : undefined;
      }
    } else if (this.role === 'candidate' && inSyncMode) {
      // Its promises, and its idea of who is caught up or reachable, predate the pause.
      this.emit(
        'election.lost',
        `${this.id} gave up its campaign for epoch ${this.campaign!.epoch}: it did not run for ${gap} ms`,
        {
          epoch: this.campaign!.epoch,
          phase: this.campaign!.phase,
          refused: {},
          granted: [...this.campaign!.granted],
        },
      );
      this.role = 'follower';
      this.campaign = undefined;
      this.electionDeadline = this.now + this.randomElectionTimeout();
    }
    if (inSyncMode && this.role !== 'leader' && this.caughtUp) {
      this.caughtUp = false;
      this.emit(
        'replica.left_isr',
        `${this.id} may have been dropped from the in-sync set while it did not run; it counts as caught up again once its leader answers it`,
        { gapMs: gap },
      );
    }
  }

  /** A session number: never 0 (no session), never the one before. */
  private drawSession(): number {
    let next = this.session;
    while (next === this.session) next = this.rng.int(1, 2 ** 31);
    return next;
  }

  // ------------------------------------------------------------ as follower

  private followerTick(): void {
    const newest = this.newestKnownConfig();
    this.noticeOwnDataLoss(newest);
    const sinceLeader = this.now - this.lastLeaderContact;
    if (sinceLeader < this.timings.electionMinMs) {
      this.setWaiting([], '');
      return;
    }
    if (!this.mayCampaign) {
      this.setWaiting([], this.nonVoterReason());
      return;
    }
    const bar = this.campaignBar(newest);
    if (bar) {
      this.setWaiting([], bar);
      this.probeIfDue();
      return;
    }
    if (!this.policy.adaptiveSet || (this.caughtUp && this.log.latestConfig().inSync.includes(this.id))) {
      this.setWaiting([], '');
      if (this.now >= this.electionDeadline) this.startCampaign(false);
      return;
    }
    this.probeIfDue();
    // Give the first probes time to be answered before judging who is reachable.
    if (this.now - this.bootedAt < this.timings.electionMinMs) return;
    if (this.recoveryEligible() && this.now >= this.electionDeadline) this.startCampaign(true);
  }

  /** Asks its peers who they are, every probe interval: how a replica without a leader finds one, or whom it waits for. */
  private probeIfDue(): void {
    if (this.now - this.lastProbe < this.timings.probeMs) return;
    this.lastProbe = this.now;
    // The committed configuration's replicas too: one an uncommitted change removes may not know it and lead on.
    for (const p of this.contacts().keys()) this.send(p, { type: 'probe', session: this.session });
  }

  private nonVoterReason(): string {
    const cfg = this.log.latestConfig();
    const me = replicaOf(cfg, this.id);
    if (cfg.replicas.length === 0) return NOT_A_MEMBER_YET;
    if (me?.learner) return 'a learner: it catches up, and votes once the leader makes it a member';
    return `not a member of the cluster (${describeConfig(cfg)}): it was removed`;
  }

  /**
   * Total outage rule: with no caught-up replica in reach, the most up-to-date
   * member of the latest in-sync set known to anyone reachable leads, once every
   * member of that set is reachable.
   */
  private recoveryEligible(): boolean {
    const fresh = this.reachable();
    if (this.peers.length > 0 && [...fresh.values()].some((i) => i.caughtUp || i.isLeader)) {
      this.setWaiting([], 'a caught-up replica is reachable; waiting for it to lead');
      return false;
    }
    const latest = this.newestKnownConfig(fresh);
    // A member being removed stays in the in-sync set until its removal is committed; once this replica knows it is
    // (the removed one acked it, so it knows it is out), it is not waited for: it may be gone for good.
    const committed = this.log.configAt(this.commitIndex);
    const removedForGood = (m: NodeId) => !replicaOf(latest, m) && !replicaOf(committed, m);
    // A member that answers from another data directory than the one the set counts on lost what it held: whatever
    // only it had is gone, and it is waited for as if it had not come back (an operator may force a leader).
    const lost = latest.inSync.filter(
      (m) => m !== this.id && fresh.has(m) && this.incarnationDiffers(latest, m, this.peerIncarnations.get(m) ?? ''),
    );
    const missing = latest.inSync.filter(
      (m) => m !== this.id && (!fresh.has(m) || lost.includes(m)) && !removedForGood(m),
    );
    if (missing.length > 0) {
      const fresh = latest.index === 0 && latest.epoch === 0 && this.log.lastIndex === 0;
      const lostNote =
        lost.length > 0
          ? `; ${lost.join(', ')} answered from another data directory than the one the set counts on (it lost its data): if that data is gone for good, force a leader (chat-ops force-leader), accepting the loss of what only ${lost.join(', ')} held`
          : '';
      this.setWaiting(
        missing,
        fresh
          ? `a new cluster: waiting for ${missing.join(', ')} to start (every replica must be there once)`
          : `no caught-up replica is reachable; waiting for ${missing.join(', ')} of the last in-sync set {${latest.inSync.join(',')}} (epoch ${latest.epoch}), which may hold the newest writes${lostNote}`,
      );
      return false;
    }
    if (!latest.inSync.includes(this.id) || !isVoter(latest, this.id)) {
      this.setWaiting([], `waiting for a member of the last in-sync set {${latest.inSync.join(',')}} to lead`);
      return false;
    }
    // Among the voters: a member being removed may not lead, and holds nothing committed that they lack.
    let best: { id: NodeId; epoch: number; index: number } = {
      id: this.id,
      epoch: this.log.lastEpoch,
      index: this.log.lastIndex,
    };
    for (const m of votersOf(latest).filter((v) => latest.inSync.includes(v))) {
      const info = fresh.get(m);
      if (!info) continue;
      const better =
        info.lastEpoch > best.epoch ||
        (info.lastEpoch === best.epoch &&
          (info.lastIndex > best.index || (info.lastIndex === best.index && m < best.id)));
      if (better) best = { id: m, epoch: info.lastEpoch, index: info.lastIndex };
    }
    if (best.id !== this.id) {
      this.setWaiting(
        [],
        `every member of the last in-sync set is back; ${best.id} has the most up-to-date log and should lead`,
      );
      return false;
    }
    this.setWaiting([], 'every member of the last in-sync set is back; this replica has the most up-to-date log');
    return true;
  }

  /** What the peers that answered a probe or a campaign lately said about themselves. */
  private reachable(): Map<NodeId, PeerInfo> {
    const fresh = new Map<NodeId, PeerInfo>();
    for (const [id, k] of this.known) if (this.now - k.at <= this.timings.reachableMs) fresh.set(id, k.info);
    return fresh;
  }

  /** The newest configuration in this replica's log or in what reachable peers said. */
  private newestKnownConfig(fresh: ReadonlyMap<NodeId, PeerInfo> = this.reachable()): Config {
    let latest = this.log.latestConfig();
    for (const info of fresh.values()) if (configNewer(info.config, latest)) latest = info.config;
    return latest;
  }

  private onAppend(
    from: NodeId,
    epoch: number,
    body: Extract<PeerBody, { type: 'append' }>,
    leaderForce: number,
  ): void {
    const reply = (success: boolean, matchIndex: number, hintIndex: number, rewind = false) =>
      this.send(from, {
        type: 'appendReply',
        success,
        matchIndex,
        hintIndex,
        lastIndex: this.log.lastIndex,
        session: this.session,
        echo: body.session,
        rewind,
      });
    if (epoch < this.hard.epoch) {
      reply(false, 0, this.log.lastIndex + 1);
      return;
    }
    if (this.role === 'leader') return; // cannot happen: an epoch has one owner
    this.acceptLeader(from);
    this.leaderSession = body.session;
    // Left behind by a force (the leader's lineage is newer than this log's): committed entries here may lie outside
    // the forced history, so log matching probes below the commit index too, and a conflict with applied entries asks
    // for a snapshot instead of being refused (see forceLeader).
    const rewinding = leaderForce > this.log.latestConfig().force;
    if (rewinding && this.rewindFrom !== undefined) {
      reply(false, 0, this.rewindFrom, true); // still waiting for the snapshot
      return;
    }
    let { prevIndex, prevEpoch, entries } = body;
    const base = this.log.base;
    if (rewinding && prevIndex <= base.index) {
      // Whether the compacted prefix is in the forced history: only its last entry, the base, can tell (log matching).
      const atBase = prevIndex === base.index ? prevEpoch : entries.find((e) => e.index === base.index)?.epoch;
      if (atBase !== base.epoch) {
        this.askToRewind(reply, base.index + 1);
        return;
      }
    }
    if (prevIndex < base.index) {
      // Everything up to the base is committed, hence the same as the leader's.
      entries = entries.filter((e) => e.index > base.index);
      prevIndex = base.index;
      prevEpoch = base.epoch;
      if (entries.length > 0 && entries[0]!.index !== base.index + 1) entries = [];
    }
    if (prevIndex > this.log.lastIndex) {
      reply(false, 0, this.log.lastIndex + 1);
      return;
    }
    if (this.log.epochAt(prevIndex) !== prevEpoch) {
      const floor = rewinding ? 0 : Math.min(this.commitIndex + 1, prevIndex);
      reply(false, 0, Math.max(this.log.firstIndexOfEpochRun(prevIndex), floor));
      return;
    }
    let i = 0;
    while (
      i < entries.length &&
      entries[i]!.index <= this.log.lastIndex &&
      this.log.epochAt(entries[i]!.index) === entries[i]!.epoch
    )
      i++;
    const fresh = entries.slice(i);
    let quarantine: Entry[] = [];
    let truncateFrom: number | undefined;
    if (fresh.length > 0 && fresh[0]!.index <= this.log.lastIndex) {
      truncateFrom = fresh[0]!.index;
      if (truncateFrom <= this.commitIndex && rewinding) {
        this.askToRewind(reply, truncateFrom);
        return;
      }
      if (truncateFrom <= this.commitIndex) {
        this.emit('safety.violation', `leader ${from} tried to overwrite committed entry ${truncateFrom}; refused`, {
          from,
          index: truncateFrom,
        });
        return;
      }
      quarantine = this.log.truncateFrom(truncateFrom);
      this.durableIndex = Math.min(this.durableIndex, truncateFrom - 1);
      this.emit(
        'log.quarantined',
        `${this.id} moved ${quarantine.length} divergent uncommitted entries (${truncateFrom}..${truncateFrom + quarantine.length - 1}) to quarantine${rewinding ? `: the history forced at epoch ${leaderForce} does not hold them` : ''}`,
        {
          from: truncateFrom,
          count: quarantine.length,
          leader: from,
          epochs: [...new Set(quarantine.map((e) => e.epoch))],
          ...(rewinding ? { force: leaderForce } : {}),
        },
      );
    }
    if (fresh.length > 0) {
      this.log.append(fresh);
      this.actions.push({ type: 'persist', truncateFrom, quarantine, entries: fresh });
    }
    const matchedEnd = prevIndex + entries.length;
    const newCommit = Math.min(body.commitIndex, matchedEnd);
    if (newCommit > this.commitIndex) {
      this.commitIndex = newCommit;
      this.commitForce = leaderForce;
      this.applyCommitted();
    }
    // In the in-sync set where the leader vouches for our log, and at its end (a later config entry may already say
    // we are out, and a late heartbeat must not undo that). The leader vouches for us in this session: it heard from us
    // since we last started or resumed (an append sent before a pause cannot name the session drawn after it).
    // A removed member stays in the in-sync set for a while, but no longer votes: it is not caught up (it may not lead).
    const cfg = this.log.configAt(matchedEnd);
    const latest = this.log.latestConfig();
    if (!cfg.inSync.includes(this.id) || !latest.inSync.includes(this.id) || !isVoter(latest, this.id)) {
      if (this.caughtUp)
        this.emit('replica.left_isr', `${this.id} learned it is no longer in the in-sync set`, { leader: from });
      this.caughtUp = false;
    } else if (
      !this.caughtUp &&
      cfg.epoch === this.hard.epoch &&
      matchedEnd >= body.commitIndex &&
      body.confirmedSession === this.session
    ) {
      this.caughtUp = true;
      this.emit('replica.caught_up', `${this.id} is caught up with leader ${from} and in the in-sync set`, {
        leader: from,
        index: matchedEnd,
      });
    }
    reply(true, matchedEnd, 0);
  }

  /**
   * Left behind by a force, with applied entries outside the forced history from `from` on: they cannot be unapplied,
   * so it waits for a snapshot of the forced history (and answers every append so until one is installed).
   */
  private askToRewind(
    reply: (success: boolean, matchIndex: number, hintIndex: number, rewind: boolean) => void,
    from: number,
  ): void {
    this.rewindFrom = from;
    reply(false, 0, from, true);
  }

  private onSnapshot(
    from: NodeId,
    epoch: number,
    body: Extract<PeerBody, { type: 'snapshot' }>,
    leaderForce: number,
  ): void {
    if (epoch < this.hard.epoch || this.role === 'leader') {
      this.send(from, { type: 'snapshotReply', lastIndex: body.lastIndex, success: false, echo: 0 });
      return;
    }
    this.acceptLeader(from);
    // Left behind by a force, it installs the snapshot even below its commit index: what it applied may lie outside
    // the forced history.
    const rewinding = leaderForce > this.log.latestConfig().force;
    if (body.lastIndex > this.commitIndex || rewinding) {
      const matches = this.log.epochAt(body.lastIndex) === body.lastEpoch;
      const keep = matches ? this.log.slice(body.lastIndex + 1, this.log.lastIndex) : [];
      // What the leader's history does not hold: the uncommitted tail, or, left behind, everything from where the log
      // was found to leave the forced history (all of it when that was not found).
      const dropFrom = rewinding ? (this.rewindFrom ?? this.log.base.index + 1) : this.commitIndex + 1;
      const quarantine = matches ? [] : this.log.slice(dropFrom, this.log.lastIndex);
      const base: LogBase = { index: body.lastIndex, epoch: body.lastEpoch, config: body.config };
      this.log.reset(base, keep);
      this.durableIndex = Math.min(this.durableIndex, body.lastIndex);
      this.commitIndex = body.lastIndex;
      this.commitForce = leaderForce;
      this.appliedIndex = body.lastIndex;
      this.rewindFrom = undefined;
      const reason = rewinding
        ? `abandoned by the leader forced at epoch ${leaderForce}: replaced by a snapshot of its history`
        : 'replaced by a snapshot from the leader';
      // Not matching, nothing of the old log stays: entries past the snapshot would otherwise outlive it on disk.
      this.actions.push({
        type: 'installSnapshot',
        from,
        base,
        quarantine,
        keepFrom: matches ? body.lastIndex + 1 : Number.MAX_SAFE_INTEGER,
        reason,
      });
      this.emit('snapshot.installed', `${this.id} installed a snapshot from ${from} up to index ${body.lastIndex}`, {
        from,
        lastIndex: body.lastIndex,
        lastEpoch: body.lastEpoch,
        quarantined: quarantine.length,
      });
      if (rewinding && quarantine.length > 0) {
        this.emit(
          'log.quarantined',
          `${this.id} moved ${quarantine.length} entries (${quarantine[0]!.index}..${quarantine.at(-1)!.index}) to quarantine: the history forced at epoch ${leaderForce} does not hold them, and the state it had applied is replaced by the snapshot`,
          {
            from: quarantine[0]!.index,
            count: quarantine.length,
            leader: from,
            epochs: [...new Set(quarantine.map((e) => e.epoch))],
            force: leaderForce,
          },
        );
      }
    }
    this.send(from, { type: 'snapshotReply', lastIndex: body.lastIndex, success: true, echo: this.leaderSession });
  }

  /** Heard from the leader of the current epoch. */
  private acceptLeader(from: NodeId): void {
    if (this.role === 'candidate') {
      this.role = 'follower';
      this.campaign = undefined;
    }
    if (this.leaderId !== from) {
      this.leaderId = from;
      this.leaderSession = 0;
      this.emit('leader.changed', `${this.id} follows ${from} in epoch ${this.hard.epoch}`, { leader: from });
    }
    this.lastLeaderContact = this.now;
    this.electionDeadline = this.now + this.randomElectionTimeout();
    this.setWaiting([], '');
  }

  // -------------------------------------------------------- leadership transfer

  /** As leader handing over: once the target holds the whole log, tell it to campaign (again each heartbeat); give up at the deadline. */
  private advanceTransfer(): void {
    const tr = this.transfer;
    if (!tr || this.role !== 'leader') return;
    const pr = this.progress.get(tr.to);
    if (this.now >= tr.deadline || !pr) {
      this.transfer = undefined;
      this.emit(
        'leader.transfer_failed',
        `${this.id} gives up handing leadership to ${tr.to}: ${pr ? 'it did not take over in time' : 'it left the configuration'}; ${this.id} serves again`,
        { to: tr.to },
      );
      return;
    }
    if (pr.match < this.log.lastIndex || this.now - tr.lastSent < this.timings.heartbeatMs) return;
    tr.lastSent = this.now;
    this.send(tr.to, { type: 'timeoutNow' });
  }

  /** Asked by its leader to take over: a real campaign at once, without a pre-vote. */
  private onTimeoutNow(from: NodeId, epoch: number): void {
    if (epoch !== this.hard.epoch || this.role !== 'follower' || from !== this.leaderId || !this.mayCampaign) return;
    // Within its leader's lineage only (receive gates lineages first: a sender of another one is never the leader
    // here), and never while left behind by a force or having lost its data.
    if (this.campaignBar(this.newestKnownConfig()) !== '') return;
    // In in-sync mode only a caught-up member of the in-sync set may lead; its leader checked, but this replica's view is what counts.
    if (this.policy.adaptiveSet && !(this.caughtUp && this.log.latestConfig().inSync.includes(this.id))) return;
    const next = this.nextOwnedEpoch(Math.max(this.hard.epoch, this.maxEpochSeen));
    this.role = 'candidate';
    this.setHard({ epoch: next, promisedTo: this.id });
    this.campaign = {
      phase: 'real',
      epoch: next,
      recovery: false,
      forced: false,
      transfer: true,
      granted: new Set(),
      refused: new Map(),
      infos: new Map(),
      incarnations: new Map(),
      deadline: this.now + this.timings.promiseWaitMs,
      lastSent: this.now,
    };
    this.emit(
      'election.started',
      `${this.id} asks for promises for epoch ${next}: ${from} hands leadership over to it`,
      {
        epoch: next,
        recovery: false,
        transfer: true,
        from,
        lastIndex: this.log.lastIndex,
        lastEpoch: this.log.lastEpoch,
      },
    );
    this.askPromises();
    if (this.voterPeers.length === 0) this.concludeCampaign();
  }

  // ---------------------------------------------------------------- elections

  private onPromiseRequest(
    from: NodeId,
    epoch: number,
    req: Extract<PeerBody, { type: 'promise' }>,
    incarnation: string,
  ): void {
    const refuse = (reason: string) =>
      this.send(from, {
        type: 'promiseReply',
        preVote: req.preVote,
        granted: false,
        reason,
        info: this.info(),
        echo: req.session,
      });
    if (epoch < this.hard.epoch || (req.preVote && epoch === this.hard.epoch))
      return refuse(`stale epoch ${epoch}; this replica is at ${this.hard.epoch}`);
    if (!req.preVote && epoch === this.hard.epoch && this.hard.promisedTo !== '' && this.hard.promisedTo !== from) {
      return refuse(`already promised epoch ${epoch} to ${this.hard.promisedTo}`);
    }
    // A leader grants only the campaign of the follower it hands leadership to (and steps down first, below).
    const handingOver = this.role === 'leader' && !req.preVote && req.transfer === true && this.transfer?.to === from;
    if (this.role === 'leader' && !handingOver) return refuse(`${this.id} leads epoch ${this.hard.epoch}`);
    // A transfer campaign was asked for by the leader itself: hearing it lately is no reason to refuse.
    if (
      !req.transfer &&
      this.leaderId !== '' &&
      this.leaderId !== from &&
      this.now - this.lastLeaderContact < this.timings.electionMinMs
    ) {
      return refuse(`leader ${this.leaderId} is alive`);
    }
    // A candidate answering from another data directory than the one the cluster counts on lost what it held.
    if (this.incarnationDiffers(this.newestKnownConfig(), from, incarnation)) {
      return refuse(
        `${from} answers from another data directory than the one the cluster knows as ${from} (it lost its data); it may not lead before it has been brought back`,
      );
    }
    // Majority mode: one that lost data it acknowledged may not help elect a leader without that data (in-sync mode
    // needs no refusal: a replica that is not caught up never decides an election there, and a refusal would fail it).
    if (!this.policy.adaptiveSet && this.ownDataLost(this.newestKnownConfig())) {
      return refuse(`${this.id} lost its data: it does not vote until the leader has brought it back`);
    }
    // Entries committed under an in-sync set that excludes the candidate live only on that set's members,
    // and every one of them knows that set: such a member must refuse.
    const mine = this.log.latestConfig();
    if (
      this.policy.adaptiveSet &&
      !mine.inSync.includes(from) &&
      configNewer(mine, { index: req.configIndex, epoch: req.configEpoch })
    ) {
      return refuse(
        `${from} is not in the latest in-sync set {${mine.inSync.join(',')}} (epoch ${mine.epoch}, index ${mine.index})`,
      );
    }
    // Otherwise a replica that is not caught up holds nothing committed that a caught-up candidate lacks, so only
    // a caught-up replica (or any replica, against a recovery candidate) compares logs.
    // After a total outage, only members of the in-sync set compare logs with a recovery candidate: every committed
    // entry is on every member of the latest in-sync set (a member joins it only once caught up, and each commit since
    // needed all of them), so a replica outside that set (a follower still catching up, or one removed from the
    // cluster) holds nothing committed that the candidate — itself a member of the newest set anyone reachable knows —
    // lacks, and must not stand in its way. Newest as far as this replica knows too: its log may lag a set a reachable
    // peer reported (the one the candidate goes by), and comparing on the older one would refuse that candidate while
    // waiting for it to lead.
    const newest = this.newestKnownConfig();
    const compareLogs =
      !this.policy.adaptiveSet ||
      this.caughtUp ||
      (req.recovery && newest.inSync.includes(this.id) && isVoter(newest, this.id));
    if (compareLogs && !logAtLeast(req.lastEpoch, req.lastIndex, this.log.lastEpoch, this.log.lastIndex)) {
      // A better-logged caught-up replica runs itself, soon.
      if (this.caughtUp || req.recovery)
        this.electionDeadline = Math.min(this.electionDeadline, this.now + this.timings.heartbeatMs);
      return refuse(`log of ${this.id} (epoch ${this.log.lastEpoch}, index ${this.log.lastIndex}) is more up to date`);
    }
    if (req.preVote) {
      this.send(from, {
        type: 'promiseReply',
        preVote: true,
        granted: true,
        reason: '',
        info: this.info(),
        echo: req.session,
      });
      return;
    }
    if (handingOver) {
      // Out of the new leader's in-sync set (info says it is not caught up once it stepped down): a leader that hands
      // over to stop must not be waited for.
      this.becomeFollower(epoch, '', true, `it hands leadership to ${from}, which campaigns for epoch ${epoch}`);
    }
    const info = this.info();
    this.becomeFollower(epoch, '', true);
    this.setHard({ epoch, promisedTo: from });
    this.caughtUp = false; // until the new leader brings us into its in-sync set
    this.electionDeadline = this.now + this.randomElectionTimeout();
    this.emit('election.promised', `${this.id} promised epoch ${epoch} to ${from}`, {
      candidate: from,
      recovery: req.recovery,
    });
    this.send(from, { type: 'promiseReply', preVote: false, granted: true, reason: '', info, echo: req.session });
  }

  private startCampaign(recovery: boolean): void {
    this.role = 'candidate';
    this.campaign = {
      phase: 'pre',
      epoch: this.nextOwnedEpoch(Math.max(this.hard.epoch, this.maxEpochSeen)),
      recovery,
      forced: false,
      transfer: false,
      granted: new Set(),
      refused: new Map(),
      infos: new Map(),
      incarnations: new Map(),
      deadline: this.now + this.timings.promiseWaitMs,
      lastSent: this.now,
    };
    this.askPromises();
    if (this.voterPeers.length === 0) this.concludeCampaign();
  }

  private askPromises(): void {
    const c = this.campaign!;
    c.lastSent = this.now;
    for (const p of this.voterPeers) {
      if (c.granted.has(p) || c.refused.has(p)) continue;
      const cfg = this.log.latestConfig();
      this.sendWithEpoch(p, c.epoch, {
        type: 'promise',
        preVote: c.phase === 'pre',
        recovery: c.recovery,
        transfer: c.transfer,
        lastIndex: this.log.lastIndex,
        lastEpoch: this.log.lastEpoch,
        configIndex: cfg.index,
        configEpoch: cfg.epoch,
        session: this.session,
      });
    }
  }

  private campaignTick(): void {
    const c = this.campaign!;
    if (this.now >= c.deadline) {
      this.concludeCampaign();
    } else if (this.now - c.lastSent >= this.timings.heartbeatMs) {
      this.askPromises(); // answers may have been lost
    }
  }

  private onPromiseReply(
    from: NodeId,
    epoch: number,
    body: Extract<PeerBody, { type: 'promiseReply' }>,
    incarnation: string,
  ): void {
    this.learnConfig(from, body.info);
    // An answer to a request sent before this replica's last pause: the campaign it belonged to is over.
    if (body.echo !== this.session) return;
    this.known.set(from, { info: body.info, at: this.now, epoch });
    this.peerSessions.set(from, body.info.session);
    const c = this.campaign;
    if (this.role !== 'candidate' || !c || body.preVote !== (c.phase === 'pre')) return;
    if (c.granted.has(from) || c.refused.has(from) || !this.voterPeers.includes(from)) return;
    if (body.granted) {
      if (c.phase === 'real' && epoch !== c.epoch) return;
      // A promise from another data directory than the one the cluster counts on is as good as silence.
      if (this.incarnationDiffers(this.log.latestConfig(), from, incarnation)) return;
      c.granted.add(from);
      c.infos.set(from, body.info);
      c.incarnations.set(from, incarnation);
    } else {
      c.refused.set(from, body.reason);
    }
    if (this.campaignVerdict(c, false) !== 'undecided') this.concludeCampaign();
  }

  /** Counted against the voters of the latest configuration; the candidate's own vote counts when it is one of them. */
  private campaignVerdict(c: Campaign, deadlinePassed: boolean): CampaignVerdict {
    const voters = votersOf(this.log.latestConfig());
    const votes = c.granted.size + (voters.includes(this.id) ? 1 : 0);
    return this.policy.campaign(votes, c.refused.size, voters.length, deadlinePassed);
  }

  /**
   * A voter campaigns; so does, in majority mode, a replica whose own removal is
   * in its log but not committed, in case it led that removal and lost its
   * quorum before the remaining voters had the entry: they could never elect
   * one of their own past its better log, so it finishes the change itself.
   */
  private get mayCampaign(): boolean {
    if (this.isVoter) return true;
    return (
      !this.policy.adaptiveSet &&
      this.log.latestConfig().index > this.commitIndex &&
      isVoter(this.log.configAt(this.commitIndex), this.id)
    );
  }

  private concludeCampaign(): void {
    const c = this.campaign!;
    if (this.campaignVerdict(c, true) !== 'won') {
      const reasons = Object.fromEntries(c.refused);
      this.emit(
        'election.lost',
        `${this.id} gave up its ${c.phase === 'pre' ? 'pre-vote for' : 'campaign for'} epoch ${c.epoch}: ${[...c.refused].map(([p, r]) => `${p}: ${r}`).join('; ')}`,
        {
          epoch: c.epoch,
          phase: c.phase,
          refused: reasons,
          granted: [...c.granted],
        },
      );
      this.role = 'follower';
      this.campaign = undefined;
      this.electionDeadline = this.now + this.randomElectionTimeout();
      return;
    }
    if (c.phase === 'pre') {
      const epoch = this.nextOwnedEpoch(Math.max(this.hard.epoch, this.maxEpochSeen));
      this.setHard({ epoch, promisedTo: this.id });
      this.campaign = {
        ...c,
        phase: 'real',
        epoch,
        granted: new Set(),
        refused: new Map(),
        infos: new Map(),
        incarnations: new Map(),
        deadline: this.now + this.timings.promiseWaitMs,
      };
      this.emit(
        'election.started',
        `${this.id} asks for promises for epoch ${epoch}${c.recovery ? ' (recovery after a total outage)' : ''}`,
        {
          epoch,
          recovery: c.recovery,
          lastIndex: this.log.lastIndex,
          lastEpoch: this.log.lastEpoch,
        },
      );
      this.askPromises();
      if (this.voterPeers.length === 0) this.concludeCampaign();
      return;
    }
    this.becomeLeader();
  }

  private becomeLeader(): void {
    const c = this.campaign!;
    const prev = this.log.latestConfig();
    const inSync = this.policy.adaptiveSet ? [this.id] : votersOf(prev);
    for (const p of this.policy.adaptiveSet ? c.granted : []) {
      const info = c.infos.get(p);
      if (prev.inSync.includes(p) && (c.recovery || info?.caughtUp)) inSync.push(p);
    }
    // The election's configuration records the data directories of the promisers it counts on for commits.
    const records = new Map<NodeId, string>();
    for (const p of c.granted)
      if (!this.policy.adaptiveSet || inSync.includes(p)) records.set(p, c.incarnations.get(p) ?? '');
    const next = c.forced
      ? forcedConfig(prev, this.id, this.hard.epoch, this.policy.adaptiveSet)
      : withInSync(prev, inSync);
    this.role = 'leader';
    this.leaderId = this.id;
    this.caughtUp = true;
    this.campaign = undefined;
    this.leaderReady = false;
    this.setWaiting([], '');
    this.progress.clear();
    this.awaitingFreshAcks = undefined;
    this.syncProgress();
    this.emit(
      'election.won',
      `${this.id} leads epoch ${this.hard.epoch} with in-sync set {${next.inSync.join(',')}}${c.forced && !this.policy.adaptiveSet ? ` as its only voter (the others are learners until back in step)` : ''}`,
      {
        epoch: this.hard.epoch,
        inSync: next.inSync,
        recovery: c.recovery,
        forced: c.forced,
        lastIndex: this.log.lastIndex,
      },
    );
    this.leaderStartIndex = this.log.lastIndex + 1;
    this.appendConfig(next, records);
  }

  /**
   * Tracks progress for every replica of the latest configuration, for those a
   * change not yet committed removes (so they hear of their removal), and for
   * any still in the in-sync set.
   */
  private syncProgress(): void {
    const wanted = new Set([
      ...this.peers,
      ...this.log.configAt(this.commitIndex).replicas.map((r) => r.id),
      ...this.log.latestConfig().inSync,
    ]);
    wanted.delete(this.id);
    for (const p of wanted) {
      if (this.progress.has(p)) continue;
      this.progress.set(p, {
        match: 0,
        next: this.log.lastIndex + 1,
        state: 'probe',
        lastAck: this.now,
        lastSent: Number.NEGATIVE_INFINITY,
        lastProgress: this.now,
        reportedLast: 0,
        snapshotSentAt: 0,
        snapshotIndex: 0,
        snapshotDeliveredAt: 0,
        snapshotBackoffUntil: 0,
        incarnation: undefined,
        ackSession: 0,
        heldCommitAt: this.now,
      });
    }
    for (const p of this.progress.keys()) if (!wanted.has(p)) this.progress.delete(p);
  }

  private becomeFollower(epoch: number, leader: NodeId, resetCaughtUp: boolean, reason = `saw epoch ${epoch}`): void {
    const wasLeader = this.role === 'leader';
    if (epoch > this.hard.epoch) {
      this.setHard({ epoch, promisedTo: '' });
      if (resetCaughtUp) this.caughtUp = false; // until the leader of this epoch brings us into its in-sync set
    }
    this.role = 'follower';
    this.campaign = undefined;
    if (wasLeader) {
      // Give the new leader an election timeout to make contact before judging the cluster leaderless.
      this.lastLeaderContact = this.now;
      this.progress.clear();
      this.awaitingFreshAcks = undefined;
      const handedTo = this.transfer?.to;
      this.transfer = undefined;
      this.leaderReady = false;
      this.caughtUp = false;
      this.actions.push({ type: 'leadership', leading: false, epoch: this.hard.epoch });
      this.emit('leader.stepped_down', `${this.id} stepped down: ${reason}`, { epoch, reason });
      // Whatever made it step down while handing over (the target's campaign, or its first message of the new epoch): done.
      if (handedTo !== undefined)
        this.emit('leader.transfer_done', `${this.id} handed leadership over to ${handedTo} (epoch ${epoch})`, {
          to: handedTo,
          newEpoch: epoch,
        });
    }
    if (leader === '') this.leaderId = '';
  }

  // -------------------------------------------------------------- as leader

  private leaderTick(): void {
    const cfg = this.log.latestConfig();
    if (this.ownRemovalCommitted()) {
      this.becomeFollower(
        this.hard.epoch,
        '',
        true,
        `its removal from the cluster is committed (members now ${describeConfig(cfg)})`,
      );
      return;
    }
    const voters = votersOf(cfg);
    const heard = (p: NodeId) =>
      this.now - (this.progress.get(p)?.lastAck ?? Number.NEGATIVE_INFINITY) < 2 * this.timings.electionMinMs;
    const reachable = voters.filter((v) => v === this.id || heard(v)).length;
    if (this.policy.mustStepDown(reachable, voters.length)) {
      this.becomeFollower(
        this.hard.epoch,
        '',
        true,
        `it heard from only ${reachable} of ${voters.length} voting replicas recently, no majority`,
      );
      return;
    }
    for (const [p, pr] of this.progress) {
      if (pr.state === 'snapshot') {
        if (this.now - pr.snapshotSentAt >= this.timings.snapshotRetryMs) {
          pr.state = 'probe';
          this.sendAppend(p);
        } else if (this.now - pr.lastSent >= this.timings.heartbeatMs) {
          // Keep it from campaigning or probing while the snapshot is on its way.
          this.sendEntries(p, this.log.base.index, this.log.base.epoch, []);
          pr.lastSent = this.now;
        }
        continue;
      }
      if (
        pr.state === 'replicate' &&
        pr.next > pr.match + 1 &&
        this.now - pr.lastProgress >= 4 * this.timings.heartbeatMs
      ) {
        // Pipelined appends went unanswered: fall back to one at a time from what we know matches.
        pr.state = 'probe';
        pr.next = pr.match + 1;
      }
      if (this.now - pr.lastSent >= this.timings.heartbeatMs) this.sendAppend(p, true);
    }
    this.advanceTransfer();
    this.maintainInSyncSet();
    this.promoteCaughtUpLearner();
    this.maintainIncarnations();
  }

  private appendAsLeader(entries: Entry[]): void {
    this.log.append(entries);
    this.actions.push({ type: 'persist', quarantine: [], entries });
    if (entries.some((e) => e.kind === 'config')) this.syncProgress();
    for (const p of this.progress.keys()) this.sendMore(p);
    this.advanceCommit();
  }

  /** Sends what the follower needs next: entries, a heartbeat, or a snapshot. */
  private sendAppend(p: NodeId, heartbeat = false): void {
    const pr = this.progress.get(p);
    if (!pr || pr.state === 'snapshot') return;
    if (pr.next <= this.log.base.index) {
      // Building a snapshot is costly: only for a follower that answers, and not right after a failed one.
      const answering = this.now - pr.lastAck <= 2 * this.timings.syncTimeoutMs;
      if (answering && this.now >= pr.snapshotBackoffUntil) this.startSnapshot(p, pr);
      else if (heartbeat) {
        // Still behind the compacted log and waiting to retry a snapshot: keep it following us meanwhile.
        this.sendEntries(p, this.log.base.index, this.log.base.epoch, []);
        pr.lastSent = this.now;
      }
      return;
    }
    const windowFull =
      pr.state === 'replicate' && pr.next - 1 - pr.match >= this.limits.maxInflight * this.limits.maxBatchEntries;
    if (pr.state === 'replicate' && (pr.next > this.log.lastIndex || windowFull)) {
      if (!heartbeat) return;
      // A heartbeat: nothing new to send, or the window is full. Anchor it where we know the logs match.
      const anchor = Math.max(pr.match, this.log.base.index);
      this.sendEntries(p, anchor, this.log.epochAt(anchor)!, []);
      pr.lastSent = this.now;
      return;
    }
    const prevIndex = pr.next - 1;
    const entries = this.log.slice(pr.next, pr.next + this.limits.maxBatchEntries - 1);
    this.sendEntries(p, prevIndex, this.log.epochAt(prevIndex)!, entries);
    pr.lastSent = this.now;
    if (pr.state === 'replicate' && entries.length > 0) pr.next = entries[entries.length - 1]!.index + 1;
  }

  /**
   * One append: `entries` after `(prevIndex, prevEpoch)`, the commit index, this leader's session, and the follower's
   * session if this leader vouches for it as a member of its in-sync set (not while it waits for fresh answers).
   */
  private sendEntries(p: NodeId, prevIndex: number, prevEpoch: number, entries: Entry[]): void {
    const vouch = !this.awaitingFreshAcks && this.log.latestConfig().inSync.includes(p);
    this.send(p, {
      type: 'append',
      prevIndex,
      prevEpoch,
      entries,
      commitIndex: this.commitIndex,
      session: this.session,
      confirmedSession: vouch ? (this.peerSessions.get(p) ?? 0) : 0,
    });
  }

  private sendMore(p: NodeId): void {
    const pr = this.progress.get(p);
    if (!pr) return;
    if (pr.state === 'probe' && !Number.isFinite(pr.lastSent)) {
      this.sendAppend(p);
      return;
    }
    while (
      pr.state === 'replicate' &&
      pr.next <= this.log.lastIndex &&
      pr.next - 1 - pr.match < this.limits.maxInflight * this.limits.maxBatchEntries
    ) {
      const before = pr.next;
      this.sendAppend(p);
      if (pr.next === before) break; // nothing could be sent (e.g. a snapshot is due)
    }
  }

  private startSnapshot(p: NodeId, pr: Progress, why = 'the entries it needs are compacted'): void {
    pr.state = 'snapshot';
    pr.snapshotSentAt = this.now;
    pr.snapshotDeliveredAt = 0;
    const lastIndex = this.appliedIndex;
    pr.snapshotIndex = lastIndex;
    if (!this.log.latestConfig().inSync.includes(p) && !pr.catchupFrom) {
      pr.catchupFrom = { at: this.now, match: pr.match };
      this.emit(
        'catchup.started',
        `${this.id} brings ${p} up to date from index ${pr.match}, starting with a snapshot`,
        {
          follower: p,
          from: pr.match,
          to: this.log.lastIndex,
        },
      );
    }
    const action: Action = {
      type: 'sendSnapshot',
      to: p,
      lastIndex,
      lastEpoch: this.log.epochAt(lastIndex)!,
      config: this.log.configAt(lastIndex),
      force: this.lineage,
    };
    this.actions.push(action);
    this.emit('snapshot.sent', `${this.id} sends ${p} a snapshot up to index ${lastIndex}: ${why}`, {
      to: p,
      lastIndex,
      followerNext: pr.next,
      logStart: this.log.base.index + 1,
    });
  }

  private onAppendReply(
    from: NodeId,
    epoch: number,
    body: Extract<PeerBody, { type: 'appendReply' }>,
    incarnation: string,
  ): void {
    const pr = this.progress.get(from);
    if (this.role !== 'leader' || epoch !== this.hard.epoch || !pr) return;
    this.peerSessions.set(from, body.session);
    if (!this.freshAnswer(from, body.echo)) return;
    pr.lastAck = this.now;
    pr.reportedLast = body.lastIndex;
    this.noticeDataLoss(from, pr, incarnation, body);
    if (body.rewind) {
      // Left behind by the force this history began with, it applied entries outside it: only a snapshot brings it back.
      if (pr.state !== 'snapshot' && this.now >= pr.snapshotBackoffUntil) {
        this.startSnapshot(
          from,
          pr,
          `what it applied leaves this history at index ${body.hintIndex} (it was left behind by the leader forced at epoch ${this.lineage})`,
        );
      }
      return;
    }
    if (pr.state === 'snapshot' && body.lastIndex >= pr.snapshotIndex) {
      // The snapshot's own reply may be lost; a log reaching past it says it arrived. Probe from there.
      pr.state = 'probe';
      pr.next = Math.max(pr.match + 1, pr.snapshotIndex + 1);
      if (!body.success) {
        this.sendAppend(from);
        return;
      }
    } else if (
      pr.state === 'snapshot' &&
      pr.snapshotDeliveredAt > 0 &&
      this.now - pr.snapshotDeliveredAt > 4 * this.timings.heartbeatMs
    ) {
      // It had the snapshot and still is behind it: it restarted before installing it. Send another.
      pr.state = 'probe';
      pr.lastSent = this.now;
      return;
    }
    if (body.success) {
      if (body.matchIndex > pr.match) {
        pr.match = body.matchIndex;
        pr.lastProgress = this.now;
        pr.ackSession = body.session;
      }
      if (pr.match >= this.commitIndex) pr.heldCommitAt = this.now;
      if (pr.state === 'snapshot') return;
      if (pr.state === 'probe') {
        pr.state = 'replicate';
        if (!this.log.latestConfig().inSync.includes(from) && !pr.catchupFrom) {
          pr.catchupFrom = { at: this.now, match: pr.match };
          this.emit('catchup.started', `${this.id} brings ${from} up to date from index ${pr.match}`, {
            follower: from,
            from: pr.match,
            to: this.log.lastIndex,
          });
        }
      }
      pr.next = Math.max(pr.next, pr.match + 1);
      this.advanceCommit();
      if (this.transfer?.to === from) this.advanceTransfer();
      this.sendMore(from);
      this.maintainInSyncSet();
      this.promoteCaughtUpLearner();
      return;
    }
    const next = Math.max(pr.match + 1, Math.min(body.hintIndex, this.log.lastIndex + 1));
    if (pr.state === 'probe' && next >= pr.next && this.now - pr.lastSent < this.timings.heartbeatMs) return;
    if (pr.state === 'snapshot') return;
    pr.state = 'probe';
    pr.next = next;
    this.sendAppend(from);
  }

  /**
   * A follower lost data it acknowledged when it answers from another data directory than the one the configuration
   * records for it (or than the one it answered from before), or, in a later session (it restarted), with a log that
   * ends before what it acknowledged to this leader. Its progress starts over from what it holds now: it counts for
   * commit only with what it acknowledges again. It leaves the in-sync set at once (in-sync mode) or becomes a learner
   * (majority mode, maintainIncarnations), and is brought back like any returning replica; the configuration that
   * readmits it records its data directory.
   */
  private noticeDataLoss(
    from: NodeId,
    pr: Progress,
    incarnation: string,
    body: Extract<PeerBody, { type: 'appendReply' }>,
  ): void {
    const recorded = recordedIncarnation(this.log.latestConfig(), from);
    let why = '';
    if (this.incarnationDiffers(this.log.latestConfig(), from, incarnation) && !this.dataLost.has(from)) {
      why = `it answers from another data directory (incarnation ${incarnation}) than the one the cluster counts on (${recorded}): it lost its data, or was started on another directory`;
    } else if (
      incarnation !== '' &&
      pr.incarnation !== undefined &&
      pr.incarnation !== '' &&
      incarnation !== pr.incarnation
    ) {
      why = `it answers from another data directory (incarnation ${incarnation}) than before (${pr.incarnation})`;
    } else if (body.session !== pr.ackSession && body.lastIndex < pr.match) {
      why = `its log ends at index ${body.lastIndex}, but it acknowledged index ${pr.match} before (its data directory was replaced or rewound)`;
    }
    if (incarnation !== '') pr.incarnation = incarnation;
    if (!why) return;
    this.dataLost.add(from);
    this.awaitingFreshAcks?.delete(from);
    const acknowledged = pr.match;
    pr.match = 0;
    pr.next = Math.min(body.lastIndex + 1, this.log.lastIndex + 1);
    pr.state = 'probe';
    pr.lastProgress = this.now;
    pr.ackSession = body.session;
    pr.catchupFrom = undefined;
    const cfg = this.log.latestConfig();
    const action =
      cfg.inSync.includes(from) && this.policy.adaptiveSet
        ? 'it leaves the in-sync set and is brought back up to date'
        : isVoter(cfg, from) && !this.policy.adaptiveSet
          ? 'it becomes a learner, votes no more, and is brought back up to date'
          : 'it is brought back up to date';
    this.emit('replica.data_lost', `${from} lost data it acknowledged: ${why}; ${action}`, {
      replica: from,
      incarnation,
      recorded,
      acknowledged,
      lastIndex: body.lastIndex,
    });
  }

  private onSnapshotReply(from: NodeId, epoch: number, body: Extract<PeerBody, { type: 'snapshotReply' }>): void {
    const pr = this.progress.get(from);
    if (this.role !== 'leader' || epoch !== this.hard.epoch || !pr) return;
    if (!this.freshAnswer(from, body.echo)) return;
    pr.lastAck = this.now;
    if (pr.state !== 'snapshot') return;
    pr.state = 'probe';
    if (body.success) {
      pr.match = Math.max(pr.match, body.lastIndex);
      pr.lastProgress = this.now;
    }
    pr.next = pr.match + 1;
    this.sendAppend(from);
  }

  /**
   * A reply that echoes this leader's current session answers something it sent since it last started or resumed;
   * any other is as good as lost. The last awaited fresh answer after a pause lets it commit again.
   */
  private freshAnswer(from: NodeId, echo: number): boolean {
    if (echo !== this.session) return false;
    if (this.awaitingFreshAcks?.delete(from) && this.awaitingFreshAcks.size === 0) {
      this.awaitingFreshAcks = undefined;
      this.emit(
        'leader.reconfirmed',
        `${this.id} heard from its whole in-sync set since it resumed; it commits again`,
        { inSync: this.log.latestConfig().inSync },
      );
      this.advanceCommit();
    }
    return true;
  }

  /** Whose acks commit an entry: the in-sync set (in-sync mode; a member being removed stays in it a while) or the voters. */
  private commitSet(): NodeId[] {
    const cfg = this.log.latestConfig();
    return this.policy.adaptiveSet ? cfg.inSync : votersOf(cfg);
  }

  private advanceCommit(): void {
    if (this.role !== 'leader' || this.awaitingFreshAcks) return;
    const own = this.awaitDurable ? this.durableIndex : this.log.lastIndex;
    const n = this.policy.committedIndex(this.commitSet(), (m) =>
      m === this.id ? own : (this.progress.get(m)?.match ?? 0),
    );
    // Only entries of our own epoch commit by counting; earlier ones commit with them.
    if (n <= this.commitIndex || this.log.epochAt(n) !== this.hard.epoch) return;
    const committedConfig = this.log.configAt(this.commitIndex);
    this.commitIndex = n;
    this.commitForce = this.lineage;
    for (const pr of this.progress.values()) if (pr.match >= n) pr.heldCommitAt = this.now;
    // A committed removal: stop replicating to the replica it removed.
    if (this.log.configAt(n) !== committedConfig) this.syncProgress();
    this.applyCommitted();
  }

  /** Shrinks the in-sync set by members that stopped acking; grows it by followers that caught up. One change at a time. */
  private maintainInSyncSet(): void {
    // No config entries while handing over (the target must hold the whole log); a failed transfer ends in time.
    if (this.role !== 'leader' || !this.policy.adaptiveSet || this.transfer) return;
    const cfg = this.log.latestConfig();
    const isStale = (m: NodeId) => this.now - (this.progress.get(m)?.lastAck ?? 0) > this.timings.syncTimeoutMs;
    // A member that lost data it acknowledged no longer holds everything committed: out at once, whatever else waits.
    const lost = cfg.inSync.filter((m) => m !== this.id && this.dataLost.has(m));
    if (lost.length > 0 && cfg.inSync.length > lost.length) {
      const inSync = cfg.inSync.filter((m) => !lost.includes(m));
      this.emit(
        'isr.shrink',
        `${this.id} removes ${lost.join(', ')} from the in-sync set: it lost data it acknowledged`,
        {
          removed: lost,
          inSync,
          epoch: this.hard.epoch,
          dataLost: true,
        },
      );
      this.appendConfig(withInSync(cfg, inSync));
      return;
    }
    if (this.awaitingFreshAcks) {
      // After a pause, members are dropped for silence as ever (its gap was given back): had the others elected a leader
      // without this one meanwhile, that leader's messages would be waiting for it, and it reads them first.
      const silent = [...this.awaitingFreshAcks].filter(isStale);
      if (silent.length === 0) return;
      for (const m of silent) this.awaitingFreshAcks.delete(m);
      if (this.awaitingFreshAcks.size === 0) this.awaitingFreshAcks = undefined;
    }
    // In-sync mode keeps a removed member in the in-sync set until its removal is committed: until then it may not know
    // it is out, and may lead on the set it knows (see changeMembership). Committed, the removal had its ack: it knows.
    const departed = this.departed(cfg);
    if (departed.length > 0 && cfg.index <= this.commitIndex) {
      const inSync = cfg.inSync.filter((m) => !departed.includes(m));
      this.emit(
        'isr.shrink',
        `${this.id} removes ${departed.join(', ')} from the in-sync set: its removal from the cluster is committed`,
        {
          removed: departed,
          inSync,
          epoch: this.hard.epoch,
        },
      );
      this.appendConfig(withInSync(cfg, inSync));
      return;
    }
    const stale = cfg.inSync.filter((m) => m !== this.id && isStale(m));
    if (stale.length > 0) {
      const inSync = cfg.inSync.filter((m) => !stale.includes(m));
      if (inSync.length === 0) {
        // Only while this leader's own removal is pending (a leader is in its own in-sync set otherwise): every
        // member of the set it leaves behind stopped acking. Taking itself back in and committing alone would write
        // under a set that none of them knows, while each of them, back from a crash, may lead a recovery on the set it
        // does know (they hold everything committed under it). So it stops leading and leaves the change to them.
        this.becomeFollower(
          this.hard.epoch,
          '',
          true,
          this.ownRemovalCommitted()
            ? 'its removal from the cluster is committed'
            : `its removal is pending and ${stale.join(', ')}, the rest of the in-sync set, stopped acking; one of them leads when back`,
        );
        return;
      }
      this.emit(
        'isr.shrink',
        `${this.id} removes ${stale.join(', ')} from the in-sync set: no ack for ${this.timings.syncTimeoutMs} ms`,
        {
          removed: stale,
          inSync,
          epoch: this.hard.epoch,
        },
      );
      this.appendConfig(withInSync(cfg, inSync));
      return;
    }
    if (cfg.index > this.commitIndex) return; // a change is still in flight
    const joining = this.voterPeers.filter((p) => !cfg.inSync.includes(p) && this.isInStep(p));
    if (joining.length === 0) return;
    for (const p of joining) this.finishCatchup(p);
    const inSync = [...cfg.inSync, ...joining];
    const back = joining.filter((p) => this.dataLost.has(p));
    this.emit(
      'isr.expand',
      `${this.id} adds ${joining.join(', ')} to the in-sync set${back.length > 0 ? ` (${back.join(', ')} back after losing data: its data directory is recorded)` : ''}`,
      {
        added: joining,
        inSync,
        epoch: this.hard.epoch,
      },
    );
    this.appendConfig(withInSync(cfg, inSync), this.readmitting(joining));
  }

  /** The incarnations of replicas that (re)join the commit set now: the configuration records them, and they count again. */
  private readmitting(ids: readonly NodeId[]): Map<NodeId, string> {
    const records = new Map<NodeId, string>();
    for (const p of ids) {
      const inc = this.progress.get(p)?.incarnation;
      if (inc) records.set(p, inc);
      this.dataLost.delete(p);
    }
    return records;
  }

  /**
   * Majority mode: a voter that lost data it acknowledged becomes a learner (promoted back once in step), so its vote
   * cannot help elect a leader without that data. Both modes: members in step whose data directory is not recorded yet
   * get it recorded. One configuration change at a time, like the others.
   */
  private maintainIncarnations(): void {
    if (this.role !== 'leader' || !this.leaderReady || this.awaitingFreshAcks) return;
    const cfg = this.log.latestConfig();
    if (cfg.index > this.commitIndex || this.departed(cfg).length > 0) return;
    const voters = votersOf(cfg);
    const lost = this.policy.adaptiveSet ? undefined : voters.find((v) => v !== this.id && this.dataLost.has(v));
    if (lost && voters.length > 1) {
      const next = withDemoted(cfg, lost);
      this.emit(
        'membership.demoted',
        `${this.id} makes ${lost} a learner: it lost data it acknowledged, and votes again once it has caught up (members now ${describeConfig(next)})`,
        {
          replica: lost,
          voters: votersOf(next),
          learners: learnersOf(next),
        },
      );
      this.appendConfig(next);
      return;
    }
    if (withRecorded(cfg, this.verifiedIncarnations()) !== cfg) this.appendConfig(withInSync(cfg, cfg.inSync));
  }

  /** The data directories this leader has seen hold everything committed: its own, and those of members in step. */
  private verifiedIncarnations(): Map<NodeId, string> {
    const records = new Map<NodeId, string>([[this.id, this.incarnation]]);
    for (const [p, pr] of this.progress) {
      if (pr.incarnation && !this.dataLost.has(p) && this.isInStep(p)) records.set(p, pr.incarnation);
    }
    return records;
  }

  /** Members of the in-sync set that are no longer replicas: removed, until the leader drops them from the set. */
  private departed(cfg: Config): NodeId[] {
    return cfg.inSync.filter((m) => !replicaOf(cfg, m));
  }

  /** A follower that acks promptly and holds everything committed, give or take a few entries in flight. */
  private isInStep(p: NodeId): boolean {
    const pr = this.progress.get(p);
    return (
      pr !== undefined &&
      pr.state === 'replicate' &&
      this.now - pr.lastAck <= this.timings.syncTimeoutMs / 2 &&
      pr.match >= this.commitIndex &&
      this.log.lastIndex - pr.match <= this.limits.catchupSlack
    );
  }

  private finishCatchup(p: NodeId): void {
    const pr = this.progress.get(p)!;
    const from = pr.catchupFrom;
    const ms = from ? this.now - from.at : 0;
    const entries = from ? pr.match - from.match : 0;
    this.emit('catchup.done', `${p} caught up: ${entries} entries in ${ms} ms`, {
      follower: p,
      entries,
      ms,
      entriesPerSecond: ms > 0 ? Math.round((entries * 1000) / ms) : null,
    });
    pr.catchupFrom = undefined;
  }

  /** This leader is not a voter in its latest configuration nor in the committed one: it has been removed. */
  private ownRemovalCommitted(): boolean {
    return !isVoter(this.log.latestConfig(), this.id) && !isVoter(this.log.configAt(this.commitIndex), this.id);
  }

  /** A learner that caught up becomes a voting member (and, being in step, joins the in-sync set). One change at a time. */
  private promoteCaughtUpLearner(): void {
    if (this.role !== 'leader' || !this.leaderReady || this.awaitingFreshAcks || this.transfer) return;
    const cfg = this.log.latestConfig();
    if (cfg.index > this.commitIndex || this.departed(cfg).length > 0) return;
    const learner = learnersOf(cfg).find((p) => this.isInStep(p));
    if (!learner) return;
    this.finishCatchup(learner);
    const next = withPromoted(cfg, learner);
    this.emit(
      'membership.promoted',
      `${this.id} makes learner ${learner} a voting member: it has caught up (members now ${describeConfig(next)})`,
      {
        replica: learner,
        voters: votersOf(next),
        learners: learnersOf(next),
      },
    );
    this.appendConfig(next, this.readmitting([learner]));
  }

  /**
   * An operator's membership change, on the leader: adds a learner or removes a
   * replica with a config entry. One change at a time: refused while another
   * config entry is uncommitted, while a learner is still catching up (for
   * adds), and before this leader committed an entry of its own epoch.
   */
  changeMembership(change: MembershipChange, now: number): MembershipResult {
    this.advance(now);
    const refuse = (reason: MembershipRefusal, message: string): MembershipResult => ({
      ok: false,
      reason,
      message,
      leaderId: this.leaderId,
    });
    if (this.role !== 'leader') return refuse('not_leader', `${this.id} is not the leader`);
    if (!this.leaderReady)
      return refuse(
        'busy',
        `${this.id} has just become leader and has not committed its first entry yet; try again shortly`,
      );
    if (this.awaitingFreshAcks)
      return refuse(
        'busy',
        `${this.id} has just resumed after a pause and waits to hear from its in-sync set; try again shortly`,
      );
    if (this.transfer)
      return refuse('busy', `${this.id} is handing leadership to ${this.transfer.to}; ask the new leader`);
    const cfg = this.log.latestConfig();
    if (cfg.index > this.commitIndex || this.departed(cfg).length > 0) {
      return refuse(
        'busy',
        `a configuration change (log index ${cfg.index}) is still being committed; try again shortly`,
      );
    }
    let next: Config;
    if (change.type === 'add') {
      const existing = replicaOf(cfg, change.id);
      if (existing)
        return refuse(
          'exists',
          `${change.id} is already ${existing.learner ? 'a learner' : 'a member'} of the cluster`,
        );
      const sameAddress = cfg.replicas.find((r) => r.address === change.address);
      if (sameAddress) return refuse('exists', `${change.address} is the address of ${sameAddress.id}`);
      const samePeerAddress = change.peerAddress
        ? cfg.replicas.find((r) => r.peerAddress === change.peerAddress)
        : undefined;
      if (samePeerAddress)
        return refuse('exists', `${change.peerAddress} is the peer address of ${samePeerAddress.id}`);
      const learning = learnersOf(cfg);
      if (learning.length > 0)
        return refuse('busy', `one change at a time: ${learning.join(', ')} is still catching up as a learner`);
      if (cfg.replicas.length >= MAX_REPLICAS)
        return refuse('too_many', `a cluster has at most ${MAX_REPLICAS} replicas`);
      if (cfg.nextSlot >= EPOCH_SLOTS)
        return refuse(
          'too_many',
          `this cluster has handed out all ${EPOCH_SLOTS} epoch slots a cluster gets in its lifetime`,
        );
      next = withLearner(cfg, change.id, change.address, change.peerAddress);
      this.emit(
        'membership.learner_added',
        `${this.id} adds ${change.id} (${change.address}) as a learner; it votes once it has caught up`,
        {
          replica: change.id,
          address: change.address,
          voters: votersOf(next),
          learners: learnersOf(next),
        },
      );
    } else {
      const existing = replicaOf(cfg, change.id);
      if (!existing)
        return refuse('not_found', `${change.id} is not a replica of the cluster (${describeConfig(cfg)})`);
      const rest = without(cfg, change.id);
      if (!existing.learner && votersOf(rest).length === 0)
        return refuse('last_member', `${change.id} is the last voting member`);
      if (!existing.learner && this.policy.adaptiveSet && !rest.inSync.some((m) => m === this.id || this.isInStep(m))) {
        return refuse(
          'last_member',
          `no other replica is in sync to carry on without ${change.id}; wait for one to catch up`,
        );
      }
      // In-sync mode: a live in-sync member holds every committed entry and believes itself caught up until it has the
      // entry that says otherwise. So it stays in the in-sync set (no vote, no slot, still replicated to) until the
      // removal is committed, which needs its ack, or until it stops acking, which crash-stop takes for a crash. Should
      // this leader die first, whoever leads a recovery on this entry waits for it too, and sees what it did meanwhile.
      const departing = this.policy.adaptiveSet && change.id !== this.id && cfg.inSync.includes(change.id);
      next = departing ? withInSync(rest, cfg.inSync) : rest;
      this.emit(
        'membership.removed',
        `${this.id} removes ${change.id} from the cluster (members now ${describeConfig(rest)})`,
        {
          replica: change.id,
          voters: votersOf(next),
          learners: learnersOf(next),
          self: change.id === this.id,
        },
      );
    }
    this.appendConfig(next);
    const placed = this.log.latestConfig();
    return { ok: true, index: placed.index, epoch: placed.epoch, config: placed };
  }

  /**
   * Appends a configuration, recording the data directories this leader has verified (its own, members in step) and
   * `readmitted` (replicas that rejoin the commit set with it).
   */
  private appendConfig(config: Config, readmitted: ReadonlyMap<NodeId, string> = new Map()): void {
    const records = new Map([...this.verifiedIncarnations(), ...readmitted]);
    const recorded = withRecorded(config, records);
    this.appendAsLeader([
      { index: this.log.lastIndex + 1, epoch: this.hard.epoch, kind: 'config', data: encodeConfig(recorded) },
    ]);
  }

  // ------------------------------------------------------------------ common

  private applyCommitted(): void {
    if (this.commitIndex > this.appliedIndex) {
      const entries = this.log.slice(this.appliedIndex + 1, this.commitIndex);
      this.appliedIndex = this.commitIndex;
      this.actions.push({ type: 'apply', entries });
    }
    if (this.role === 'leader' && !this.leaderReady && this.appliedIndex >= this.leaderStartIndex) {
      this.leaderReady = true;
      this.actions.push({ type: 'leadership', leading: true, epoch: this.hard.epoch });
    }
    this.maybeCompact();
  }

  private maybeCompact(): void {
    const { compactThreshold, retainEntries } = this.limits;
    if (this.appliedIndex - this.log.base.index < compactThreshold + retainEntries) return;
    let upTo = this.appliedIndex - retainEntries;
    if (this.role === 'leader') {
      // Keep what live followers still need, and everything after a snapshot in flight, so a follower
      // that installs it can go on from the log instead of needing another one.
      for (const pr of this.progress.values()) {
        if (pr.state === 'snapshot') upTo = Math.min(upTo, pr.snapshotIndex);
        else if (this.now - pr.lastAck <= 2 * this.timings.syncTimeoutMs) upTo = Math.min(upTo, pr.match);
      }
      if (upTo <= this.log.base.index) return;
    }
    const base: LogBase = { index: upTo, epoch: this.log.epochAt(upTo)!, config: this.log.configAt(upTo) };
    this.log.compact(base);
    this.actions.push({ type: 'compact', base });
  }

  /** A peer knows a newer in-sync set without us: whatever we believed, we are not caught up. */
  private learnConfig(from: NodeId, info: PeerInfo): void {
    if (!this.policy.adaptiveSet || !this.caughtUp) return;
    const mine = this.log.latestConfig();
    if (configNewer(info.config, mine) && !info.config.inSync.includes(this.id)) {
      this.caughtUp = false;
      this.emit(
        'replica.left_isr',
        `${this.id} learned from ${from} that the in-sync set is now {${info.config.inSync.join(',')}}, without it`,
        {
          from,
          inSync: info.config.inSync,
          configEpoch: info.config.epoch,
          configIndex: info.config.index,
        },
      );
    }
  }

  private info(): PeerInfo {
    return {
      caughtUp: this.caughtUp,
      leaderId: this.leaderId,
      lastIndex: this.log.lastIndex,
      lastEpoch: this.log.lastEpoch,
      config: this.log.latestConfig(),
      leaderContactAgo:
        this.role === 'leader' ? 0 : Number.isFinite(this.lastLeaderContact) ? this.now - this.lastLeaderContact : -1,
      isLeader: this.role === 'leader',
      session: this.session,
    };
  }

  /** Stores the hard state; the lineage it follows stays unless `force` moves it on. */
  private setHard(next: HardState): void {
    const force = next.force ?? this.hard.force;
    this.hard = { epoch: next.epoch, promisedTo: next.promisedTo, ...(force ? { force } : {}) };
    this.actions.push({ type: 'persist', quarantine: [], entries: [], hard: { ...this.hard } });
  }

  private setWaiting(waitingFor: NodeId[], reason: string): void {
    const changed = waitingFor.join(',') !== this.waitingFor.join(',');
    this.waitingFor = waitingFor;
    this.waitingReason = reason;
    if (changed && waitingFor.length > 0) {
      this.emit('recovery.waiting', `${this.id}: ${reason}`, { waitingFor });
    }
  }

  /** Epochs are dealt round-robin to the replicas' slots, so two replicas can never lead the same epoch. */
  private nextOwnedEpoch(above: number): number {
    return nextEpochOfSlot(this.ownSlot(), above);
  }

  private ownSlot(): number {
    const me = replicaOf(this.log.latestConfig(), this.id) ?? replicaOf(this.log.configAt(this.commitIndex), this.id);
    if (!me) throw new Error(`${this.id} has no epoch slot: it is not in the configuration`);
    return me.slot;
  }

  private randomElectionTimeout(): number {
    return this.timings.electionMinMs + this.rng.int(0, this.timings.electionMinMs);
  }

  private send(to: NodeId, body: PeerBody): void {
    this.sendWithEpoch(to, this.hard.epoch, body);
  }

  private sendWithEpoch(to: NodeId, epoch: number, body: PeerBody): void {
    this.actions.push({
      type: 'send',
      message: { from: this.id, to, epoch, force: this.lineage, incarnation: this.incarnation, body },
    });
  }

  private emit(kind: string, message: string, fields: Record<string, unknown>): void {
    this.actions.push({
      type: 'event',
      kind,
      epoch: this.hard.epoch,
      message,
      fields: { ...fields, epoch: this.hard.epoch },
    });
  }
}
