/**
 * In-process stand-ins for replicas, for tests of the RPC handlers and the
 * client library over real gRPC on loopback.
 *
 * A `LocalCluster` holds one chat state (ChatState over an in-memory SQLite
 * database) that every `LocalReplica` of it shares, as if replication were
 * instant; ops apply the moment the leader submits them. The test decides who
 * leads (`setLeader`) and can inject failures into submits. `startLocalServer`
 * serves a replica's ChatService (the real one) and a small ClusterService
 * (FindLeader, GetStatus, WatchEvents, digest, force-leader) on a free port.
 */
import * as grpc from '@grpc/grpc-js';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { ChatServiceService } from '../../src/gen/chat/v1/chat.js';
import { ClusterServiceService, Role, type ClusterEvent, type ClusterServiceServer, type ReplicaStatus } from '../../src/gen/chat/v1/cluster.js';
import type { ApplyOutcome, ChatOp } from '../../src/server/chat/ops.js';
import { ChatState } from '../../src/server/chat/state-machine.js';
import { NotLeaderError, type AppliedOp, type LeaderInfo, type ReplicaHandle } from '../../src/server/replica-handle.js';
import { createChatService, type ChatServiceImpl, type ChatServiceOptions } from '../../src/server/rpc/chat-service.js';
import { openMemoryDatabase } from '../../src/server/storage/database.js';

export const silentLogger = pino({ level: 'silent' });

/** What a submit does instead of (or besides) applying, for one call. */
export type SubmitFault =
  /** Refuse before applying, as a replica that just lost leadership (no leader known). */
  | 'refuse'
  /** Apply, then fail as if leadership was lost before the answer: the client cannot tell whether it went through. */
  | 'apply-then-fail';

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

  /** `leader`: who leads the first epoch; null for nobody. */
  constructor(ids: string[] = ['A'], leader: string | null = ids[0] ?? null) {
    for (const id of ids) this.replicas.set(id, new LocalReplica(this, id));
    this.setLeader(leader ?? undefined);
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
    this.emitEvent(id ? 'election.won' : 'leader.lost', id ? `${id} leads epoch ${this.epoch}` : `no leader in epoch ${this.epoch}`, { leader: id ?? null });
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
      seq: this.events.length + 1, timeMs: Date.now(), replicaId: this.leaderId ?? '', kind, epoch: this.epoch, message, detailsJson: JSON.stringify(details),
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

  private notLeader(): NotLeaderError {
    const leader = this.cluster.leaderInfo();
    const hint = leader && leader.id !== this.id ? { id: leader.id, address: leader.address } : undefined;
    return new NotLeaderError(hint ? `replica ${this.id} is not the leader; the leader is ${hint.id}` : `replica ${this.id} knows of no leader`, hint);
  }

  async submit(op: ChatOp): Promise<ApplyOutcome> {
    this.submitted.push(op);
    if (this.cluster.leaderId !== this.id) throw this.notLeader();
    const fault = this.faults.shift();
    if (fault === 'refuse') throw new NotLeaderError('leadership changed before the op was committed; retry', undefined);
    const outcome = this.cluster.apply(op);
    if (fault === 'apply-then-fail') throw new NotLeaderError('this replica stopped leading before the op was committed; retry', undefined);
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

function clusterService(replica: LocalReplica, chat: ChatServiceImpl): ClusterServiceServer {
  const cluster = replica.cluster;
  const members = () => [...cluster.replicas.values()].map((r) => ({ id: r.id, address: r.address }));
  return {
    findLeader(_call, callback) {
      const leader = cluster.leaderInfo();
      callback(null, { leaderId: leader?.id ?? '', leaderAddress: leader?.address ?? '', epoch: cluster.epoch, replicas: members() });
    },
    getStatus(_call, callback) {
      const leading = cluster.leaderId === replica.id;
      const metrics = chat.metrics();
      const status: ReplicaStatus = {
        id: replica.id, address: replica.address, role: leading ? Role.ROLE_LEADER : Role.ROLE_FOLLOWER, epoch: cluster.epoch,
        leaderId: cluster.leaderId ?? '', lastIndex: cluster.index, lastEpoch: cluster.epoch, commitIndex: cluster.index, appliedIndex: cluster.index,
        inSync: members().map((m) => m.id), caughtUp: true, lastHeartbeatMsAgo: leading ? 0 : 5, uptimeMs: 1000,
        waitingFor: cluster.leaderId ? [] : cluster.waitingFor, waitingReason: cluster.leaderId ? '' : 'waiting for the latest in-sync set',
        peers: [], connectedClients: metrics.connectedClients, openStreams: metrics.openStreams, writesPerSecond: 0, dataSizeBytes: 0,
        mode: 'in-sync', version: 'test', logStartIndex: 1,
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
      if (!call.request.acceptDataLoss) {
        callback({ code: grpc.status.FAILED_PRECONDITION, details: 'set accept_data_loss to confirm' });
        return;
      }
      cluster.setLeader(replica.id);
      callback(null, { epoch: cluster.epoch });
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
  const chat = createChatService(replica, { logger: silentLogger, ...options.chat });
  const server = new grpc.Server();
  server.addService(ChatServiceService, chat.service);
  server.addService(ClusterServiceService, clusterService(replica, chat));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, options.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
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
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
    kill: () => {
      if (stopped) return;
      stopped = true;
      server.forceShutdown();
      chat.close();
    },
  };
}
