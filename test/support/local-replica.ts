/**
 * In-process stand-ins for replicas, for tests of the RPC handlers and the
 * client library over real gRPC on loopback.
 *
 * A `LocalCluster` holds one chat state (ChatState over an in-memory SQLite
 * database) that every `LocalReplica` of it shares, as if replication were
 * instant; ops apply the moment the leader submits them. The test decides who
 * leads (`setLeader`) and can inject failures into submits. `startLocalServer`
 * serves a replica's ChatService (the real one) and a small ClusterService
 * (FindLeader, GetStatus, WatchEvents, digest, force-leader, and membership
 * changes with the statuses the real leader gives) on a free port.
 *
 * Membership: the replicas given to the constructor are voting members;
 * `addStandby` makes a replica that runs but is not a member (as one started
 * with --join). AddReplica makes a replica a learner at once (its entry
 * "commits" instantly); `promote` makes it a voter, as
 * the leader does once it has caught up; `learnerLag` is what the leader
 * reports meanwhile. RemoveReplica drops a member; removing the leader hands
 * leadership to the first remaining voter.
 */
import * as grpc from '@grpc/grpc-js';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { ChatServiceService } from '../../src/gen/chat/v1/chat.js';
import {
  ClusterServiceService,
  Role,
  type ClusterEvent,
  type ClusterMember,
  type ClusterServiceServer,
  type MembershipResponse,
  type PeerProgress,
  type ReplicaStatus,
} from '../../src/gen/chat/v1/cluster.js';
import type { ApplyOutcome, ChatOp } from '../../src/server/chat/operations.js';
import { ChatState } from '../../src/server/chat/chat-state.js';
import {
  NotLeaderError,
  type AppliedOp,
  type LeaderInfo,
  type ReplicaHandle,
} from '../../src/server/rpc/replica-handle.js';
import { createChatService, type ChatServiceImpl, type ChatServiceOptions } from '../../src/server/rpc/chat-service.js';
import { GuardedServer } from '../../src/server/rpc/guarded-server.js';
import { hashToken } from '../../src/server/rpc/auth.js';
import { OperatorAuth } from '../../src/server/rpc/operator-auth.js';
import { shutdownGracefully } from '../../src/server/rpc/graceful-shutdown.js';
import { notLeaderStatus, RpcError } from '../../src/server/rpc/status-errors.js';
import { openMemoryReplicaDatabase as openMemoryDatabase } from '../../src/server/replica-database.js';
import { checkAddress, checkId } from '../../src/server/config.js';
import { MAX_REPLICAS } from '../../src/server/replication/membership.js';

export const silentLogger = pino({ level: 'silent' });

/** What a submit does instead of (or besides) applying, for one call. */
export type SubmitFault =
  /** Refuse before applying, as a replica that just lost leadership (no leader known). */
  | 'refuse'
  /** Apply, then fail as if leadership was lost before the answer: the client cannot tell whether it went through. */
  | 'apply-then-fail';

/** A replica of the fake configuration; its address is the replica's own once served, else the one it was added with. */
export interface LocalMember {
  id: string;
  address: string;
  learner: boolean;
}

/**
 * A failure the next AddReplica/RemoveReplica on the leader answers with:
 * instead of acting, or (`applied`) after making the change, as when the
 * answer is lost on the way.
 */
export interface MembershipFault {
  code: grpc.status;
  details: string;
  applied?: boolean;
}

export class LocalCluster {
  readonly db: Database = openMemoryDatabase();
  readonly chat = new ChatState(this.db);
  readonly replicas = new Map<string, LocalReplica>();
  epoch = 0;
  leaderId: string | undefined;
  /** Ops applied so far (log index of the last one). */
  index = 0;
  /** Replicas a no-leader cluster says it waits for. */
  waitingFor: string[] = [];
  readonly events: ClusterEvent[] = [];
  private readonly eventListeners = new Set<(e: ClusterEvent) => void>();
  /** The configuration, voting members and learners, in the order they joined. */
  readonly config: LocalMember[] = [];
  /** Log index of the last configuration change. */
  configIndex = 0;
  /** Entries a learner is behind, as the leader reports it (by id; default 0). */
  readonly learnerLag = new Map<string, number>();
  /** Refusals for the next membership calls on the leader, used up in order. */
  readonly membershipFaults: MembershipFault[] = [];

  /** `leader`: who leads the first epoch; null for nobody. */
  constructor(ids: string[] = ['A'], leader: string | null = ids[0] ?? null) {
    for (const id of ids) {
      this.replicas.set(id, new LocalReplica(this, id));
      this.config.push({ id, address: '', learner: false });
    }
    this.setLeader(leader ?? undefined);
  }

  /** A replica that runs but is not a member (started to be added); serve it, then add it. */
  addStandby(id: string): LocalReplica {
    const r = new LocalReplica(this, id);
    this.replicas.set(id, r);
    return r;
  }

  member(id: string): LocalMember | undefined {
    return this.config.find((m) => m.id === id);
  }

  /** The configuration with the addresses replicas are served at. */
  members(): LocalMember[] {
    return this.config.map((m) => ({ ...m, address: this.replicas.get(m.id)?.address || m.address }));
  }

  /** The in-sync set: every voting member. */
  inSync(): string[] {
    return this.config.filter((m) => !m.learner).map((m) => m.id);
  }

  /** What AddReplica does on the leader: a learner, committed at once. */
  addLearner(id: string, address: string): LocalMember {
    const m = { id, address, learner: true };
    this.config.push(m);
    this.configIndex = ++this.index;
    return m;
  }

  /** The leader makes a caught-up learner a voting member. */
  promote(id: string): void {
    const m = this.member(id);
    if (!m) throw new Error(`${id} is not a member`);
    m.learner = false;
    this.learnerLag.delete(id);
    this.configIndex = ++this.index;
  }

  /** What RemoveReplica does on the leader: the change commits at once; a removed leader steps down. */
  removeMember(id: string): void {
    const i = this.config.findIndex((m) => m.id === id);
    if (i < 0) throw new Error(`${id} is not a member`);
    this.config.splice(i, 1);
    this.configIndex = ++this.index;
    if (this.leaderId === id) this.setLeader(this.inSync()[0]);
  }

  replica(id: string): LocalReplica {
    const r = this.replicas.get(id);
    if (!r) throw new Error(`no replica ${id}`);
    return r;
  }

  /** A new epoch with `id` leading (or nobody); replicas hear about it as a real one would tell its handlers. */
  setLeader(id: string | undefined): void {
    const previous = this.leaderId;
    this.epoch += 1;
    this.leaderId = id;
    this.emitEvent(
      id ? 'election.won' : 'leader.lost',
      id ? `${id} leads epoch ${this.epoch}` : `no leader in epoch ${this.epoch}`,
      { leader: id ?? null },
    );
    if (previous && previous !== id) this.replicas.get(previous)?.leadership(false);
    if (id && id !== previous) this.replicas.get(id)?.leadership(true);
  }

  leaderInfo(): LeaderInfo | undefined {
    if (!this.leaderId) return undefined;
    return { id: this.leaderId, address: this.replica(this.leaderId).address, epoch: this.epoch };
  }

  apply(op: ChatOp): ApplyOutcome {
    this.index += 1;
    const index = this.index;
    const outcome = this.chat.apply(op, index);
    for (const r of this.replicas.values()) r.applied({ index, op, outcome });
    return outcome;
  }

  emitEvent(kind: string, message: string, details: Record<string, unknown>): void {
    const e: ClusterEvent = {
      seq: this.events.length + 1,
      timeMs: Date.now(),
      replicaId: this.leaderId ?? '',
      kind,
      epoch: this.epoch,
      message,
      detailsJson: JSON.stringify(details),
    };
    this.events.push(e);
    for (const l of this.eventListeners) l(e);
  }

  onEvent(listener: (e: ClusterEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  close(): void {
    this.db.close();
  }
}

export class LocalReplica implements ReplicaHandle {
  /** Set by startLocalServer once the port is known. */
  address = '';
  /** Faults for the next submits, used up in order. */
  readonly faults: SubmitFault[] = [];
  /** Every op this replica was asked to submit, applied or not. */
  readonly submitted: ChatOp[] = [];
  private readonly appliedListeners = new Set<(a: AppliedOp) => void>();
  private readonly leadershipListeners = new Set<(leading: boolean) => void>();

  constructor(
    readonly cluster: LocalCluster,
    readonly id: string,
  ) {}

  get chat(): ChatState {
    return this.cluster.chat;
  }

  notLeader(): NotLeaderError {
    const leader = this.cluster.leaderInfo();
    const hint = leader && leader.id !== this.id ? { id: leader.id, address: leader.address } : undefined;
    return new NotLeaderError(
      hint ? `replica ${this.id} is not the leader; the leader is ${hint.id}` : `replica ${this.id} knows of no leader`,
      hint,
    );
  }

  async submit(op: ChatOp): Promise<ApplyOutcome> {
    this.submitted.push(op);
    if (this.cluster.leaderId !== this.id) throw this.notLeader();
    const fault = this.faults.shift();
    if (fault === 'refuse')
      throw new NotLeaderError('leadership changed before the op was committed; retry', undefined);
    const outcome = this.cluster.apply(op);
    if (fault === 'apply-then-fail')
      throw new NotLeaderError('this replica stopped leading before the op was committed; retry', undefined);
    return outcome;
  }

  async ensureLeaderReady(): Promise<void> {
    if (this.cluster.leaderId !== this.id) throw this.notLeader();
  }

  leader(): LeaderInfo | undefined {
    return this.cluster.leaderInfo();
  }

  onApplied(listener: (applied: AppliedOp) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  onLeadershipChange(listener: (leading: boolean) => void): () => void {
    this.leadershipListeners.add(listener);
    return () => this.leadershipListeners.delete(listener);
  }

  /** For LocalCluster. */
  applied(a: AppliedOp): void {
    for (const l of [...this.appliedListeners]) l(a);
  }

  /** For LocalCluster. */
  leadership(leading: boolean): void {
    for (const l of [...this.leadershipListeners]) l(leading);
  }
}

function memberMessage(m: LocalMember, inSync: readonly string[]): ClusterMember {
  return { id: m.id, address: m.address, learner: m.learner, inSync: inSync.includes(m.id) };
}

function membershipAnswer(cluster: LocalCluster): MembershipResponse {
  const inSync = cluster.inSync();
  return {
    epoch: cluster.epoch,
    configIndex: cluster.configIndex,
    members: cluster.members().map((m) => memberMessage(m, inSync)),
  };
}

/** The admin token the local replicas' operator calls take (checked as the real server does). */
export const LOCAL_ADMIN_TOKEN = 'local-replica-admin-token';

function clusterService(replica: LocalReplica, chat: ChatServiceImpl): ClusterServiceServer {
  const cluster = replica.cluster;
  let lostAnswer: MembershipFault | undefined;
  const operators = new OperatorAuth({
    cluster: 'chat',
    adminToken: Buffer.from(LOCAL_ADMIN_TOKEN),
    certificates: false,
    isChatSession: (token) => cluster.chat.sessionAccount(hashToken(token)) !== undefined,
  });
  /** Refuses a call without operator credentials, as the real server does. */
  const unauthorized = (call: grpc.ServerUnaryCall<unknown, unknown>): Partial<grpc.StatusObject> | undefined => {
    const checked = operators.check(call.metadata, undefined);
    return checked instanceof RpcError ? { code: checked.code, details: checked.message } : undefined;
  };
  /** Refuses a membership call unless this replica leads (UNAVAILABLE naming the leader), or with the next injected fault. */
  const refusal = (call: grpc.ServerUnaryCall<unknown, unknown>): Partial<grpc.StatusObject> | undefined => {
    const denied = unauthorized(call);
    if (denied) return denied;
    if (cluster.leaderId !== replica.id) {
      const err = notLeaderStatus(replica.id, replica.notLeader());
      return { code: err.code, details: err.message, metadata: err.metadata ?? new grpc.Metadata() };
    }
    const fault = cluster.membershipFaults.shift();
    if (fault?.applied) lostAnswer = fault;
    return fault && !fault.applied ? { code: fault.code, details: fault.details } : undefined;
  };
  /** The answer of a change that was made, unless the answer is to be lost. */
  const answer = (callback: (err: Partial<grpc.StatusObject> | null, value?: MembershipResponse) => void) => {
    const lost = lostAnswer;
    lostAnswer = undefined;
    if (lost) callback({ code: lost.code, details: lost.details });
    else callback(null, membershipAnswer(cluster));
  };
  const fail = (code: grpc.status, details: string): Partial<grpc.StatusObject> => ({ code, details });
  return {
    findLeader(_call, callback) {
      const leader = cluster.leaderInfo();
      const replicas = cluster.members().map((m) => ({ id: m.id, address: m.address, learner: m.learner }));
      callback(null, {
        leaderId: leader?.id ?? '',
        leaderAddress: leader?.address ?? '',
        epoch: cluster.epoch,
        replicas,
      });
    },
    getStatus(_call, callback) {
      const leading = cluster.leaderId === replica.id;
      const self = cluster.member(replica.id);
      const voter = self !== undefined && !self.learner;
      const metrics = chat.metrics();
      const inSync = cluster.inSync();
      const peers: PeerProgress[] = leading
        ? cluster
            .members()
            .filter((m) => m.id !== replica.id)
            .map((m) => {
              const lag = m.learner ? (cluster.learnerLag.get(m.id) ?? 0) : 0;
              return {
                id: m.id,
                address: m.address,
                matchIndex: Math.max(0, cluster.index - lag),
                lagEntries: lag,
                lastAckMsAgo: 5,
                inSync: inSync.includes(m.id),
                state: lag > 0 ? 'snapshot' : 'replicate',
                learner: m.learner,
                behindMs: lag > 0 ? 1_000 : 0,
                dataLost: false,
              };
            })
        : [];
      const waitingReason = !self
        ? 'not a member of the cluster: waiting to be added (chat-ops add-replica)'
        : cluster.leaderId
          ? ''
          : 'waiting for the latest in-sync set';
      const status: ReplicaStatus = {
        id: replica.id,
        address: replica.address,
        clusterName: 'chat',
        role: leading ? Role.ROLE_LEADER : voter ? Role.ROLE_FOLLOWER : Role.ROLE_LEARNER,
        epoch: cluster.epoch,
        leaderId: self ? (cluster.leaderId ?? '') : '',
        lastIndex: cluster.index,
        lastEpoch: cluster.epoch,
        commitIndex: cluster.index,
        appliedIndex: cluster.index,
        inSync,
        caughtUp: true,
        lastHeartbeatMsAgo: leading ? 0 : 5,
        uptimeMs: 1000,
        waitingFor: cluster.leaderId ? [] : cluster.waitingFor,
        waitingReason,
        peers,
        connectedClients: metrics.connectedClients,
        openStreams: metrics.openStreams,
        writesPerSecond: 0,
        dataSizeBytes: 0,
        mode: 'in-sync',
        clusterId: '',
        version: 'test',
        commit: 'test',
        protocolVersion: 2,
        schemaVersion: 3,
        peerBuilds: [],
        logStartIndex: 1,
        lineage: 0,
        leftBehind: false,
        dataLost: false,
        incarnation: '',
        members: self ? cluster.members().map((m) => memberMessage(m, inSync)) : [],
      };
      callback(null, status);
    },
    watchEvents(call) {
      let last = call.request.afterSeq;
      const send = (e: ClusterEvent) => {
        if (e.seq <= last || call.cancelled) return;
        last = e.seq;
        call.write(e);
      };
      const off = cluster.onEvent(send);
      for (const e of cluster.events) send(e);
      call.on('cancelled', off);
      call.on('close', off);
    },
    getStateDigest(_call, callback) {
      callback(null, { appliedIndex: cluster.index, digest: cluster.chat.digest() });
    },
    forceLeader(call, callback) {
      const denied = unauthorized(call);
      if (denied) return callback(denied);
      if (!call.request.acceptDataLoss) {
        callback({ code: grpc.status.FAILED_PRECONDITION, details: 'set accept_data_loss to confirm' });
        return;
      }
      cluster.setLeader(replica.id);
      callback(null, { epoch: cluster.epoch });
    },
    addReplica(call, callback) {
      const refused = refusal(call);
      if (refused) return callback(refused);
      const { id, address } = call.request;
      try {
        checkId(id);
        checkAddress(address, `address of ${id}`);
      } catch (err) {
        return callback(fail(grpc.status.INVALID_ARGUMENT, (err as Error).message));
      }
      const members = cluster.members();
      const same = members.find((m) => m.id === id);
      if (same)
        return callback(
          fail(
            grpc.status.ALREADY_EXISTS,
            `${id} is already ${same.learner ? 'a learner' : 'a member'} of the cluster (at ${same.address})`,
          ),
        );
      const taken = members.find((m) => m.address === address);
      if (taken) return callback(fail(grpc.status.ALREADY_EXISTS, `${address} is the address of ${taken.id}`));
      if (cluster.config.some((m) => m.learner))
        return callback(
          fail(
            grpc.status.FAILED_PRECONDITION,
            'another configuration change is still being committed; retry when it is done',
          ),
        );
      if (members.length >= MAX_REPLICAS)
        return callback(fail(grpc.status.RESOURCE_EXHAUSTED, `a cluster has at most ${MAX_REPLICAS} replicas`));
      cluster.addLearner(id, address);
      answer(callback);
    },
    saveSnapshot(call) {
      call.emit('error', {
        code: grpc.status.UNIMPLEMENTED,
        details: 'this stand-in replica keeps no state to back up',
        metadata: new grpc.Metadata(),
      });
    },
    transferLeader(call, callback) {
      const denied = unauthorized(call);
      if (denied) return callback(denied);
      if (cluster.leaderId !== replica.id) return callback(refusal(call)!);
      const to = call.request.targetId || cluster.inSync().find((id) => id !== replica.id);
      const target = to === undefined ? undefined : cluster.member(to);
      if (!target || target.learner || to === replica.id)
        return callback(fail(grpc.status.FAILED_PRECONDITION, `no voting replica ${to ?? ''} in step to take over`));
      cluster.setLeader(target.id);
      callback(null, {
        previousLeaderId: replica.id,
        leaderId: target.id,
        leaderAddress: target.address,
        epoch: cluster.epoch,
      });
    },
    removeReplica(call, callback) {
      const refused = refusal(call);
      if (refused) return callback(refused);
      const { id } = call.request;
      const m = cluster.member(id);
      if (!m) return callback(fail(grpc.status.NOT_FOUND, `${id} is not a member of the cluster`));
      if (!m.learner && cluster.inSync().length === 1)
        return callback(
          fail(
            grpc.status.FAILED_PRECONDITION,
            `${id} is the last voting member; removing it would leave no one to lead`,
          ),
        );
      cluster.removeMember(id);
      answer(callback);
    },
  };
}

export interface LocalServer {
  address: string;
  replica: LocalReplica;
  chat: ChatServiceImpl;
  /** Graceful stop: ends the streams (UNAVAILABLE) and shuts the server down. */
  stop(): Promise<void>;
  /** Abrupt stop: connections are cut, as when the process dies. */
  kill(): void;
}

/** Serves `replica` on 127.0.0.1 at a free port (or the given one, to come back on the same address). */
export async function startLocalServer(
  replica: LocalReplica,
  options: { port?: number; chat?: Partial<ChatServiceOptions>; credentials?: grpc.ServerCredentials } = {},
): Promise<LocalServer> {
  // Rate limits out of the way unless a test gives its own (the tests of the limits do).
  const unlimited = { burst: 1_000_000, periodMs: 1_000 };
  const rateLimits = {
    loginPerAccount: unlimited,
    loginPerAddress: unlimited,
    sendPerSession: unlimited,
    ...options.chat?.rateLimits,
  };
  const chat = createChatService(replica, { logger: silentLogger, ...options.chat, rateLimits });
  const server = new GuardedServer();
  server.addService(ChatServiceService, chat.service);
  server.addService(ClusterServiceService, clusterService(replica, chat));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `127.0.0.1:${options.port ?? 0}`,
      options.credentials ?? grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    );
  });
  const address = `127.0.0.1:${port}`;
  replica.address = address;
  let stopped = false;
  return {
    address,
    replica,
    chat,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      chat.close();
      await shutdownGracefully(server);
    },
    kill: () => {
      if (stopped) return;
      stopped = true;
      server.forceShutdown();
      chat.close();
    },
  };
}
