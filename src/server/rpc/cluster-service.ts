import * as grpc from '@grpc/grpc-js';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Role, type ClusterEvent, type ClusterServiceServer, type ReplicaStatus } from '../../gen/chat/v1/cluster.js';
import type { ReplicaEvent } from '../events.js';
import type { Replica } from '../replica.js';
import { DATABASE_FILE } from '../storage/database.js';

export interface ClusterServiceOptions {
  replica: Replica;
  dataDir: string;
  version: string;
  logger: Logger;
  /** Connected clients and open chat streams, from the chat service. */
  clientMetrics(): { connectedClients: number; openStreams: number };
}

const ROLES = { leader: Role.ROLE_LEADER, follower: Role.ROLE_FOLLOWER, candidate: Role.ROLE_CANDIDATE } as const;

export function toWireEvent(e: ReplicaEvent): ClusterEvent {
  return {
    seq: e.seq, timeMs: e.timeMs, replicaId: e.replicaId, kind: e.kind, epoch: e.epoch,
    message: e.message, detailsJson: JSON.stringify(e.details),
  };
}

function dataSize(dataDir: string): number {
  let total = 0;
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      total += statSync(join(dataDir, DATABASE_FILE + suffix)).size;
    } catch {
      // not there (yet)
    }
  }
  return total;
}

/** Where the leader is, how this replica is doing, its events, its digest, and the operator override. */
export function createClusterService(o: ClusterServiceOptions): ClusterServiceServer {
  const { replica } = o;
  const addressOf = new Map(replica.members().map((m) => [m.id, m.address]));
  return {
    findLeader(_call, callback) {
      const leader = replica.leader();
      callback(null, {
        leaderId: leader?.id ?? '',
        leaderAddress: leader?.address ?? '',
        epoch: replica.status().epoch,
        replicas: replica.members(),
      });
    },

    getStatus(_call, callback) {
      const s = replica.status();
      const metrics = o.clientMetrics();
      const status: ReplicaStatus = {
        id: s.id,
        address: s.address,
        role: ROLES[s.role],
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
          lastAckMsAgo: p.lastAckAgo, inSync: p.inSync, state: p.state,
        })),
        connectedClients: metrics.connectedClients,
        openStreams: metrics.openStreams,
        writesPerSecond: s.writesPerSecond,
        dataSizeBytes: dataSize(o.dataDir),
        mode: s.mode,
        version: o.version,
        logStartIndex: s.logStartIndex,
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
      o.logger.warn({ event: 'operator.force_leader', replica: replica.id, epoch: result.epoch }, 'an operator forced this replica to lead');
      callback(null, { epoch: result.epoch });
    },
  };
}
