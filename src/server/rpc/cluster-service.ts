import * as grpc from '@grpc/grpc-js';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Role, type ClusterEvent, type ClusterServiceServer, type ReplicaStatus } from '../../gen/chat/v1/cluster.js';
import type { ReplicaEvent } from '../replica/events.js';
import { MembershipError, NotLeaderError, TransferError, type ReplicaControl } from '../replica/handle.js';
import { handOver } from '../hand-over.js';
import { streamBackup } from './snapshot-save.js';
import type { MembershipChange } from '../replication/types.js';
import { checkAddress, checkId, ConfigError, defaultPeerAddress } from '../replication/endpoints.js';
import type { JoinerCheck } from './joiner-check.js';
import type { Operator, OperatorAuth } from './operator-auth.js';
import { RefusalLog } from './refusal-log.js';
import { notLeaderStatus, RpcError, toStatusObject } from './status-errors.js';
import { DATABASE_FILE } from '../sqlite/database.js';
import type { PeerVersions } from '../peer-versions.js';
import { buildInfo } from '../../version/build-info.js';
import { PEER_PROTOCOL_VERSION, SCHEMA_VERSION } from '../versions.js';
import { logDirectory } from '../replica-database.js';

export interface ClusterServiceOptions {
  replica: ReplicaControl;
  cluster: string;
  /** The cluster id of a restored cluster ('' otherwise; see cluster-identity.ts). */
  clusterId: string;
  mode: string;
  dataDir: string;
  /** The other replicas' builds, from their messages. */
  peerVersions: PeerVersions;
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

/** The status a failed leadership transfer answers with. */
function transferFailure(replicaId: string, err: unknown): grpc.ServiceError {
  if (err instanceof TransferError) return toStatusObject(new RpcError(grpc.status.FAILED_PRECONDITION, err.message));
  return membershipFailure(replicaId, err);
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
    seq: e.seq,
    timeMs: e.timeMs,
    replicaId: e.replicaId,
    kind: e.kind,
    epoch: e.epoch,
    message: e.message,
    detailsJson: JSON.stringify(e.details),
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
    const logged =
      request.type === 'add'
        ? {
            event: 'operator.add_replica',
            added: request.id,
            address: request.address,
            peerAddress: request.peerAddress,
          }
        : { event: 'operator.remove_replica', removed: request.id };
    o.logger.info(
      { ...logged, replica: replica.id, index: done.index, operator: operator.name },
      `an operator (${operator.name}) changed the membership: ${request.type} ${request.id}`,
    );
    return { epoch: done.epoch, configIndex: done.index, members: done.members };
  };
  const refusals = new RefusalLog(o.logger);
  /** The operator behind a call that changes the cluster; throws the refusal (logged) otherwise. */
  const operatorOf = (
    call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'metadata' | 'getAuthContext' | 'getPeer'>,
    method: string,
  ): Operator => {
    const checked = o.operators.check(call.metadata, call.getAuthContext()?.sslPeerCertificate);
    if (checked instanceof RpcError) {
      refusals.note(
        call.getPeer(),
        { event: 'operator.refused', method, code: grpc.status[checked.code] },
        `refused ${method} from ${call.getPeer()}: ${checked.message}`,
      );
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
          id: p.id,
          address: addressOf.get(p.id) ?? '',
          matchIndex: p.matchIndex,
          lagEntries: p.lagEntries,
          lastAckMsAgo: p.lastAckAgo,
          inSync: p.inSync,
          state: p.state,
          learner: p.learner,
          behindMs: p.behindMs,
          dataLost: p.dataLost,
        })),
        connectedClients: metrics.connectedClients,
        openStreams: metrics.openStreams,
        writesPerSecond: s.writesPerSecond,
        dataSizeBytes: dataSize(o.dataDir),
        mode: s.mode,
        version: buildInfo().version,
        commit: buildInfo().commit,
        protocolVersion: PEER_PROTOCOL_VERSION,
        schemaVersion: SCHEMA_VERSION,
        peerBuilds: o.peerVersions.all().map(([id, b]) => ({
          id,
          version: b.version,
          commit: b.commit,
          protocolVersion: b.protocol,
          lastSeenMsAgo: Date.now() - b.lastSeen,
        })),
        logStartIndex: s.logStartIndex,
        members,
        clusterName: o.cluster,
        clusterId: o.clusterId,
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
          details:
            'forcing a leader can lose acknowledged writes held only by unreachable replicas; set accept_data_loss to confirm',
        });
        return;
      }
      const result = replica.forceLeader();
      if (!result.ok) {
        callback({ code: grpc.status.FAILED_PRECONDITION, details: result.reason });
        return;
      }
      o.logger.warn(
        { event: 'operator.force_leader', replica: replica.id, epoch: result.epoch, operator: operator.name },
        `an operator (${operator.name}) forced this replica to lead`,
      );
      callback(null, { epoch: result.epoch });
    },

    addReplica(call, callback) {
      const { id, address, peerAddress } = call.request;
      void (async () => {
        const operator = operatorOf(call, 'AddReplica');
        const request = checked(() => ({
          type: 'add' as const,
          id: checkId(id),
          address: checkAddress(address, `address of ${id}`),
          peerAddress: peerAddress ? checkAddress(peerAddress, `peer address of ${id}`) : defaultPeerAddress(address),
        }));
        // Only the leader asks the new replica (others answer with where the leader is, from changeMembership).
        if (replica.status().role === 'leader' && !replica.members().some((m) => m.id === request.id))
          await o.checkJoiner(request.id, request.address, request.peerAddress);
        return change(request, operator);
      })().then(
        (r) => callback(null, r),
        (err: unknown) => callback(membershipFailure(replica.id, err)),
      );
    },

    transferLeader(call, callback) {
      const { targetId } = call.request;
      void (async () => {
        const operator = operatorOf(call, 'TransferLeader');
        const target = targetId === '' ? undefined : checked(() => checkId(targetId));
        const done = await handOver(replica, o.peerVersions, target);
        o.logger.info(
          {
            event: 'operator.transfer_leader',
            replica: replica.id,
            to: done.leaderId,
            epoch: done.epoch,
            operator: operator.name,
          },
          `an operator (${operator.name}) had ${replica.id} hand leadership over; ${done.leaderId} leads epoch ${done.epoch}`,
        );
        const leaderAddress = replica.members().find((m) => m.id === done.leaderId)?.address ?? '';
        return { previousLeaderId: replica.id, leaderId: done.leaderId, leaderAddress, epoch: done.epoch };
      })().then(
        (r) => callback(null, r),
        (err: unknown) => callback(transferFailure(replica.id, err)),
      );
    },

    saveSnapshot(call) {
      let operator: Operator;
      try {
        operator = operatorOf(call, 'SaveSnapshot');
      } catch (err) {
        call.emit('error', membershipFailure(replica.id, err));
        return;
      }
      void streamBackup(call, { replica, cluster: o.cluster, mode: o.mode, logger: o.logger, operator });
    },

    removeReplica(call, callback) {
      const { id } = call.request;
      void (async () => {
        const operator = operatorOf(call, 'RemoveReplica');
        return change(
          checked(() => ({ type: 'remove', id: checkId(id) })),
          operator,
        );
      })().then(
        (r) => callback(null, r),
        (err: unknown) => callback(membershipFailure(replica.id, err)),
      );
    },
  };
}
