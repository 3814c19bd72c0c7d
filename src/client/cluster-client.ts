/**
 * Cluster calls for the ops console and tools: each addresses one replica
 * directly (no leader following), except findLeader, which asks them all, and
 * the membership changes, which follow the leader like chat calls do.
 */
import * as grpc from '@grpc/grpc-js';
import type {
  ClusterEvent,
  ForceLeaderResponse,
  MembershipResponse,
  ReplicaStatus,
  SnapshotPart,
  StateDigest,
  TransferLeaderResponse,
} from '../gen/chat/v1/cluster.js';
import {
  ChatError,
  type ClientOptions,
  type ClusterApi,
  type ClusterEventView,
  type ClusterMemberView,
  type LeaderView,
  type MembershipView,
  type ReplicaProbe,
  type ReplicaStatusView,
  type SnapshotHeaderView,
} from './api.js';
import { ChannelPool } from './channels.js';
import { PROBE_DEADLINE_MS, resolveTimings } from './chat-client.js';
import { ConnectionStateTracker } from './connection-state.js';
import { channelCredentials } from './credentials.js';
import { closedError, describeError, isServiceError, leaderHint, statusName, toChatError } from './errors.js';
import { callLeaderService, type LeaderContext, type ServiceAttempt } from './leader-calls.js';
import { LeaderTracker } from './leader-tracker.js';
import { toClusterEvent, toMembership, toReplicaStatus } from './mapping.js';
import { ResumableStream, type StreamEnd } from './resumable-stream.js';
import { deadlineIn, unary } from './rpc.js';

/** Deadline of each probe of a status sweep. */
export const STATUS_PROBE_DEADLINE_MS = 1_000;

/**
 * A membership change is answered once its entry is committed, which can take
 * a sync timeout or two when a replica dies meanwhile: its attempts get at
 * least this long, and the search for the leader at least MEMBERSHIP_BUDGET_MS.
 */
const MEMBERSHIP_DEADLINE_MS = 10_000;
const MEMBERSHIP_BUDGET_MS = 15_000;

export interface EventWatchHandlers {
  onEvent(e: ClusterEventView): void;
  onState?(up: boolean, error?: string): void;
}

export class ClusterClient implements ClusterApi {
  private readonly pool: ChannelPool;
  private readonly tracker: LeaderTracker;
  private readonly deadlineMs: number;
  private readonly abort = new AbortController();
  private readonly adminToken: string | undefined;
  /** For the calls that follow the leader (membership changes). */
  private readonly leaderCtx: LeaderContext;

  constructor(options: ClientOptions) {
    const { deadlineMs, retryBudgetMs } = resolveTimings(options);
    this.deadlineMs = deadlineMs;
    this.adminToken = options.adminToken;
    this.pool = new ChannelPool(channelCredentials(options.tls));
    this.tracker = new LeaderTracker(options.servers, this.pool, Math.min(deadlineMs, PROBE_DEADLINE_MS));
    this.leaderCtx = {
      pool: this.pool,
      tracker: this.tracker,
      state: new ConnectionStateTracker(),
      signal: this.abort.signal,
      deadlineMs: Math.max(deadlineMs, MEMBERSHIP_DEADLINE_MS),
      retryBudgetMs: Math.max(retryBudgetMs, MEMBERSHIP_BUDGET_MS),
    };
  }

  /**
   * The answer with the highest epoch that names a leader; when replicas answer
   * but none names one, the newest answer (leaderId ''). Rejects with
   * UNAVAILABLE when no replica answers.
   */
  async findLeader(): Promise<LeaderView> {
    this.ensureOpen();
    const found = await this.tracker.find();
    if (found.kind === 'unreachable')
      throw new ChatError('UNAVAILABLE', `no replica could be reached (${found.error})`);
    return found.view;
  }

  async statusAll(): Promise<ReplicaProbe[]> {
    this.ensureOpen();
    const probes: ReplicaProbe[] = [];
    // Answers name members this client did not know (a replica just added, or all of
    // them when it was given one address): they are asked in the same sweep. A
    // bounded number of rounds: each round can only add addresses answers named.
    for (let round = 0; round < 3; round++) {
      const asked = new Set(probes.map((p) => p.address));
      const fresh = this.tracker.addresses().filter((a) => !asked.has(a));
      if (fresh.length === 0) break;
      const answers = await Promise.all(fresh.map((address) => this.probe(address)));
      for (const p of answers) {
        if (!p.up) continue;
        for (const peer of p.status.peers) if (peer.address) this.tracker.learn(peer.address);
        for (const member of p.status.members) if (member.address) this.tracker.learn(member.address);
      }
      probes.push(...answers);
    }
    const order = this.tracker.addresses();
    return probes.sort((a, b) => order.indexOf(a.address) - order.indexOf(b.address));
  }

  async status(address: string): Promise<ReplicaStatusView> {
    this.ensureOpen();
    try {
      return toReplicaStatus(await this.getStatus(address, this.deadlineMs));
    } catch (err) {
      throw toChatError(err);
    }
  }

  watchEvents(address: string, handlers: EventWatchHandlers, options: { afterSeq?: number } = {}): { close(): void } {
    this.ensureOpen();
    return new EventWatch(this.pool, address, handlers, options.afterSeq ?? 0, this.deadlineMs, this.abort.signal);
  }

  async stateDigest(address: string): Promise<{ appliedIndex: number; digest: string }> {
    this.ensureOpen();
    const client = this.pool.cluster(address);
    try {
      const r = await unary<StateDigest>((cb) =>
        client.getStateDigest({}, new grpc.Metadata(), { deadline: deadlineIn(this.deadlineMs) }, cb),
      );
      return { appliedIndex: r.appliedIndex, digest: r.digest };
    } catch (err) {
      throw toChatError(err);
    }
  }

  /**
   * The operator override after a total outage: `address` leads alone, and
   * writes held only by unreachable replicas are lost. Callers confirm with
   * the operator first; this sends the acceptance of data loss.
   */
  async forceLeader(address: string): Promise<{ epoch: number }> {
    this.ensureOpen();
    const client = this.pool.cluster(address);
    try {
      const r = await unary<ForceLeaderResponse>((cb) =>
        client.forceLeader(
          { acceptDataLoss: true },
          this.operatorMetadata(),
          { deadline: deadlineIn(this.deadlineMs) },
          cb,
        ),
      );
      return { epoch: r.epoch };
    } catch (err) {
      throw toChatError(err);
    }
  }

  addReplica(id: string, address: string, peerAddress = ''): Promise<MembershipView> {
    return this.changeMembership(
      (client, options) =>
        unary<MembershipResponse>((cb) =>
          client.addReplica({ id, address, peerAddress }, this.operatorMetadata(), options, cb),
        ),
      {
        settledCode: 'ALREADY_EXISTS',
        settled: (members) => members.some((m) => m.id === id && m.address === address),
      },
    );
  }

  removeReplica(id: string): Promise<MembershipView> {
    return this.changeMembership(
      (client, options) =>
        unary<MembershipResponse>((cb) => client.removeReplica({ id }, this.operatorMetadata(), options, cb)),
      { settledCode: 'NOT_FOUND', settled: (members) => members.length > 0 && !members.some((m) => m.id === id) },
    );
  }

  transferLeader(
    target?: string,
  ): Promise<{ previousLeaderId: string; leaderId: string; leaderAddress: string; epoch: number }> {
    this.ensureOpen();
    // Not repeated after an attempt that may have reached the leader: the transfer may have happened (status tells).
    return callLeaderService(
      this.leaderCtx,
      (pool, address) => pool.cluster(address),
      (client, options) =>
        unary<TransferLeaderResponse>((cb) =>
          client.transferLeader({ targetId: target ?? '' }, this.operatorMetadata(), options, cb),
        ),
      { idempotent: false },
    );
  }

  saveSnapshot(
    handlers: { onHeader(header: SnapshotHeaderView): void; onData(chunk: Buffer): void },
    timeoutMs = 10 * 60_000,
  ): Promise<void> {
    this.ensureOpen();
    const deadline = Date.now() + timeoutMs;
    return callLeaderService(
      this.leaderCtx,
      (pool, address) => pool.cluster(address),
      (client) =>
        new Promise<void>((resolve, reject) => {
          let started = false;
          let failed = false;
          const fail = (err: unknown) => {
            if (failed) return;
            failed = true;
            call.cancel();
            // After the first part, a retry would hand the caller the same bytes twice: never transient.
            reject(
              started
                ? new ChatError(
                    isServiceError(err) ? statusName(err.code) : 'ABORTED',
                    `the backup stream broke: ${describeError(err)}`,
                  )
                : err,
            );
          };
          const call = client.saveSnapshot({}, this.operatorMetadata(), { deadline: new Date(deadline) });
          call.on('data', (part: SnapshotPart) => {
            try {
              if (part.part?.$case === 'header') {
                if (started) throw new Error('a second header');
                started = true;
                handlers.onHeader({ ...part.part.value });
              } else if (part.part?.$case === 'data') {
                if (!started) throw new Error('bytes before the header');
                handlers.onData(part.part.value);
              }
            } catch (err) {
              fail(err);
            }
          });
          call.on('error', fail);
          call.on('end', () => {
            if (failed) return;
            if (started) resolve();
            else fail(new Error('the leader ended the backup without sending it'));
          });
        }),
      { idempotent: false },
    );
  }

  /** The operator's credentials for a call that changes the cluster (a client certificate travels with the channel). */
  private operatorMetadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.adminToken) md.set('authorization', `Bearer ${this.adminToken}`);
    return md;
  }

  knownAddresses(): string[] {
    return this.tracker.addresses();
  }

  close(): void {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    this.pool.close();
  }

  /**
   * Sends a membership change to the leader, following redirects. When an
   * attempt failed in a way that may have reached the leader (a lost
   * connection, not a redirect) and a retry is then refused with
   * `settledCode` (ALREADY_EXISTS for an add, NOT_FOUND for a remove), the
   * first attempt may have made the change: if the leader's configuration
   * shows it made, that is the answer.
   */
  private async changeMembership(
    attempt: ServiceAttempt<ReturnType<ChannelPool['cluster']>, MembershipResponse>,
    o: { settledCode: string; settled: (members: readonly ClusterMemberView[]) => boolean },
  ): Promise<MembershipView> {
    this.ensureOpen();
    let uncertain = false;
    try {
      return await callLeaderService(
        this.leaderCtx,
        (pool, address) => pool.cluster(address),
        async (client, options, target) => toMembership(await attempt(client, options, target), target),
        { idempotent: false, onTransient: (err) => (uncertain ||= leaderHint(err) === undefined) },
      );
    } catch (err) {
      if (!(uncertain && err instanceof ChatError && err.code === o.settledCode)) throw err;
      const current = await this.leaderMembership().catch(() => undefined);
      if (current && o.settled(current.members)) return current;
      throw err;
    }
  }

  /** The configuration as the leader knows it, from its status (no config index). */
  private async leaderMembership(): Promise<MembershipView | undefined> {
    const found = await this.tracker.find();
    if (found.kind !== 'leader') return undefined;
    const status = toReplicaStatus(await this.getStatus(found.leader.address, this.deadlineMs));
    if (status.role !== 'leader') return undefined;
    return {
      leaderId: status.id,
      leaderAddress: found.leader.address,
      epoch: status.epoch,
      configIndex: undefined,
      members: status.members,
    };
  }

  private ensureOpen(): void {
    if (this.abort.signal.aborted) throw closedError();
  }

  private getStatus(address: string, deadlineMs: number): Promise<ReplicaStatus> {
    const client = this.pool.cluster(address);
    return unary<ReplicaStatus>((cb) =>
      client.getStatus({}, new grpc.Metadata(), { deadline: deadlineIn(deadlineMs) }, cb),
    );
  }

  private async probe(address: string): Promise<ReplicaProbe> {
    const started = performance.now();
    try {
      const status = toReplicaStatus(
        await this.getStatus(address, Math.min(this.deadlineMs, STATUS_PROBE_DEADLINE_MS)),
      );
      return { address, up: true, status, rttMs: Math.round((performance.now() - started) * 10) / 10 };
    } catch (err) {
      return { address, up: false, error: describeError(err) };
    }
  }
}

/**
 * One replica's event stream: a ResumableStream whose target is that replica,
 * reconnected with backoff until closed; each reconnect asks only for events
 * after the last sequence number seen.
 */
class EventWatch {
  private readonly stream: ResumableStream<ClusterEvent, string>;
  private up: boolean | undefined;

  constructor(
    pool: ChannelPool,
    address: string,
    private readonly handlers: EventWatchHandlers,
    afterSeq: number,
    /** A stream that stays open this long without failing counts as up even before an event. */
    settleMs: number,
    clientSignal: AbortSignal,
  ) {
    this.stream = new ResumableStream<ClusterEvent, string>(
      {
        name: 'an event watch',
        signal: clientSignal,
        backoff: { initialMs: 100, maxMs: 2_000, factor: 2 },
        openWait: { ms: settleMs, onExpiry: 'assume-open' },
        target: () => Promise.resolve(address),
        targetFailed: () => undefined,
        open: (target, after) => pool.cluster(target).watchEvents({ afterSeq: after }),
        opened: () => this.setState(true),
        positionOf: (e) => e.seq,
        deliver: (e) => this.handlers.onEvent(toClusterEvent(e)),
        ended: (end) => {
          this.setState(false, endReason(end));
          return 'backoff';
        },
      },
      afterSeq,
    );
  }

  close(): void {
    this.stream.close();
  }

  private setState(up: boolean, error?: string): void {
    if (this.stream.isClosed || (this.up === up && up)) return;
    this.up = up;
    try {
      this.handlers.onState?.(up, error);
    } catch (err) {
      process.emitWarning(`an event watch onState handler threw: ${describeError(err)}`);
    }
  }
}

/** Why an event stream ended, in a few words. */
function endReason(end: StreamEnd): string {
  if (end.kind === 'open-failed') return describeError(end.error);
  if (end.kind === 'open-timeout') return 'the event stream did not open in time';
  const s = end.status;
  return s.code === grpc.status.OK
    ? 'the replica ended the event stream'
    : `${grpc.status[s.code] ?? s.code}: ${s.details}`;
}
