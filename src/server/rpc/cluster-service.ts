import * as grpc from '@grpc/grpc-js';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Role, type ClusterEvent, type ClusterServiceServer, type ReplicaStatus } from '../../gen/chat/v1/cluster.js';
import type { ReplicaEvent } from '../replica/events.js';
import { MembershipError, NotLeaderError, type ReplicaControl } from '../replica/handle.js';
import type { MembershipChange } from '../replication/types.js';
import { checkAddress, checkId, ConfigError, defaultPeerAddress } from '../replication/endpoints.js';
import type { JoinerCheck } from './joiner-check.js';
import type { Operator, OperatorAuth } from './operator-auth.js';
import { RefusalLog } from './refusal-log.js';
import { notLeaderStatus, RpcError, toStatusObject } from './status-errors.js';
import { DATABASE_FILE } from '../sqlite/database.js';
import { logDirectory } from '../replica-database.js';

export interface ClusterServiceOptions {
  replica: ReplicaControl;
  cluster: string;
  dataDir: string;
  version: string;
  logger: Logger;
  /** Connected clients and open chat streams, from the chat service. */
  clientMetrics(): { connectedClients: number; openStreams: number };
  /** Asks a replica about to be added who it is (see joiner-check.ts). */
  checkJoiner: JoinerCheck;
  /** Who may change the cluster. */
  operators: OperatorAuth;
}

const ROLES = { leader: Role.ROLE_LEADER, follower: Role.ROLE_FOLLOWER, candidate: Role.ROLE_CANDIDATE } as const;

const MEMBERSHIP_CODES: Record<MembershipError['reason'], grpc.status> = {
  not_leader: grpc.status.UNAVAILABLE,
  busy: grpc.status.FAILED_PRECONDITION,
  exists: grpc.status.ALREADY_EXISTS,
  not_found: grpc.status.NOT_FOUND,
  last_member: grpc.status.FAILED_PRECONDITION,
  too_many: grpc.status.RESOURCE_EXHAUSTED,
  not_committed: grpc.status.DEADLINE_EXCEEDED,
  abandoned: grpc.status.ABORTED,
};

/** The status a failed membership change answers with. */
function membershipFailure(replicaId: string, err: unknown): grpc.ServiceError {
  if (err instanceof RpcError) return toStatusObject(err);
  if (err instanceof NotLeaderError) return toStatusObject(notLeaderStatus(replicaId, err));
  if (err instanceof MembershipError) return toStatusObject(new RpcError(MEMBERSHIP_CODES[err.reason], err.message));
  return toStatusObject(new RpcError(grpc.status.INTERNAL, (err as Error).message));
}

/** Validates what an operator typed, as INVALID_ARGUMENT. */
function checked<T>(what: () => T): T {
  try {
    return what();
  } catch (err) {
    if (err instanceof ConfigError) throw new RpcError(grpc.status.INVALID_ARGUMENT, err.message);
    throw err;
  }
}

export function toWireEvent(e: ReplicaEvent): ClusterEvent {
  return {
    seq: e.seq, timeMs: e.timeMs, replicaId: e.replicaId, kind: e.kind, epoch: e.epoch,
    message: e.message, detailsJson: JSON.stringify(e.details),
  };
}

/** The database's files and the log's segments. */
function dataSize(dataDir: string): number {
  const logDir = logDirectory(dataDir);
  let segments: string[] = [];
  try {
    segments = readdirSync(logDir).map((name) => join(logDir, name));
  } catch {
    // not there (yet)
  }
  let total = 0;
  for (const path of [...['', '-wal', '-shm'].map((suffix) => join(dataDir, DATABASE_FILE + suffix)), ...segments]) {
    try {
      total += statSync(path).size;
    } catch {
      // not there (yet), or deleted meanwhile
    }
  }
  return total;
}

/** Where the leader is, how this replica is doing, its events, its digest, and the operator override. */
export function createClusterService(o: ClusterServiceOptions): ClusterServiceServer {
  const { replica } = o;
  const change = async (request: MembershipChange, operator: Operator) => {
    const done = await replica.changeMembership(request);
    const logged = request.type === 'add'
      ? { event: 'operator.add_replica', added: request.id, address: request.address, peerAddress: request.peerAddress }
      : { event: 'operator.remove_replica', removed: request.id };
    o.logger.info({ ...logged, replica: replica.id, index: done.index, operator: operator.name }, `an operator (${operator.name}) changed the membership: ${request.type} ${request.id}`);
    return { epoch: done.epoch, configIndex: done.index, members: done.members };
  };
  const refusals = new RefusalLog(o.logger);
  /** The operator behind a call that changes the cluster; throws the refusal (logged) otherwise. */
  const operatorOf = (call: grpc.ServerUnaryCall<unknown, unknown>, method: string): Operator => {
    const checked = o.operators.check(call.metadata, call.getAuthContext()?.sslPeerCertificate);
    if (checked instanceof RpcError) {
      refusals.note(call.getPeer(), { event: 'operator.refused', method, code: grpc.status[checked.code] }, `refused ${method} from ${call.getPeer()}: ${checked.message}`);
      throw checked;
    }
    return checked;
  };
  return {
    findLeader(_call, callback) {
      const leader = replica.leader();
      callback(null, {
        leaderId: leader?.id ?? '',
        leaderAddress: leader?.address ?? '',
        epoch: replica.status().epoch,
        replicas: replica.members().map((m) => ({ id: m.id, address: m.address, learner: m.learner })),
      });
    },

    getStatus(_call, callback) {
      const s = replica.status();
      const metrics = o.clientMetrics();
      const members = replica.members();
      const addressOf = new Map(members.map((m) => [m.id, m.address]));
      const status: ReplicaStatus = {
        id: s.id,
        address: s.address,
        role: s.voter || s.role !== 'follower' ? ROLES[s.role] : Role.ROLE_LEARNER,
        epoch: s.epoch,
        leaderId: s.leaderId,
        lastIndex: s.lastIndex,
        lastEpoch: s.lastEpoch,
        commitIndex: s.commitIndex,
        appliedIndex: s.appliedIndex,
        inSync: s.inSync,
        caughtUp: s.caughtUp,
        lastHeartbeatMsAgo: s.leaderContactAgo,
        uptimeMs: s.uptimeMs,
        waitingFor: s.waitingFor,
        waitingReason: s.waitingReason,
        peers: s.peers.map((p) => ({
          id: p.id, address: addressOf.get(p.id) ?? '', matchIndex: p.matchIndex, lagEntries: p.lagEntries,
          lastAckMsAgo: p.lastAckAgo, inSync: p.inSync, state: p.state, learner: p.learner, behindMs: p.behindMs, dataLost: p.dataLost,
        })),
        connectedClients: metrics.connectedClients,
        openStreams: metrics.openStreams,
        writesPerSecond: s.writesPerSecond,
        dataSizeBytes: dataSize(o.dataDir),
        mode: s.mode,
        version: o.version,
        logStartIndex: s.logStartIndex,
        members,
        clusterName: o.cluster,
        lineage: s.force,
        leftBehind: s.leftBehind,
        dataLost: s.dataLost,
        incarnation: s.incarnation,
      };
      callback(null, status);
    },

    watchEvents(call) {
      call.sendMetadata(new grpc.Metadata()); // tells the client the stream is open before any event
      let backlog = replica.events.since(call.request.afterSeq);
      let lastSent = call.request.afterSeq;
      const send = (e: ReplicaEvent) => {
        if (e.seq <= lastSent || call.cancelled) return;
        lastSent = e.seq;
        call.write(toWireEvent(e));
      };
      const unsubscribe = replica.events.subscribe(send);
      for (const e of backlog) send(e);
      backlog = [];
      const end = () => unsubscribe();
      call.on('cancelled', end);
      call.on('close', end);
      call.on('error', end);
    },

    getStateDigest(_call, callback) {
      callback(null, replica.digest());
    },

    forceLeader(call, callback) {
      let operator: Operator;
      try {
        operator = operatorOf(call, 'ForceLeader');
      } catch (err) {
        callback(membershipFailure(replica.id, err));
        return;
      }
      if (!call.request.acceptDataLoss) {
        callback({
          code: grpc.status.FAILED_PRECONDITION,
          details: 'forcing a leader can lose acknowledged writes held only by unreachable replicas; set accept_data_loss to confirm',
        });
        return;
      }
      const result = replica.forceLeader();
      if (!result.ok) {
        callback({ code: grpc.status.FAILED_PRECONDITION, details: result.reason });
        return;
      }
      o.logger.warn({ event: 'operator.force_leader', replica: replica.id, epoch: result.epoch, operator: operator.name }, `an operator (${operator.name}) forced this replica to lead`);
      callback(null, { epoch: result.epoch });
    },

    addReplica(call, callback) {
      const { id, address, peerAddress } = call.request;
      void (async () => {
        const operator = operatorOf(call, 'AddReplica');
        const request = checked(() => ({
          type: 'add' as const, id: checkId(id), address: checkAddress(address, `address of ${id}`),
          peerAddress: peerAddress ? checkAddress(peerAddress, `peer address of ${id}`) : defaultPeerAddress(address),
        }));
        // Only the leader asks the new replica (others answer with where the leader is, from changeMembership).
        if (replica.status().role === 'leader' && !replica.members().some((m) => m.id === request.id)) await o.checkJoiner(request.id, request.address, request.peerAddress);
        return change(request, operator);
      })().then((r) => callback(null, r), (err: unknown) => callback(membershipFailure(replica.id, err)));
    },

    removeReplica(call, callback) {
      const { id } = call.request;
      void (async () => {
        const operator = operatorOf(call, 'RemoveReplica');
        return change(checked(() => ({ type: 'remove', id: checkId(id) })), operator);
      })().then((r) => callback(null, r), (err: unknown) => callback(membershipFailure(replica.id, err)));
    },
  };
}
