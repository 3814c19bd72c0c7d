/** Status views and events for the pure-logic tests, built field by field like the client library returns them. */
import type { ClusterEventView, PeerProgressView, ReplicaProbe, ReplicaStatusView } from '../../src/client/api.js';

export function statusView(over: Partial<ReplicaStatusView> & { id: string }): ReplicaStatusView {
  return {
    address: `127.0.0.1:5005${over.id.charCodeAt(0) - 64}`,
    role: 'follower',
    epoch: 3,
    leaderId: 'A',
    lastIndex: 100,
    lastEpoch: 3,
    commitIndex: 100,
    appliedIndex: 100,
    logStartIndex: 1,
    inSync: ['A', 'B', 'C'],
    caughtUp: true,
    lastHeartbeatMsAgo: 20,
    uptimeMs: 60_000,
    waitingFor: [],
    waitingReason: '',
    peers: [],
    connectedClients: 2,
    openStreams: 1,
    writesPerSecond: 12.5,
    dataSizeBytes: 2 * 1024 * 1024,
    mode: 'in-sync',
    clusterId: '',
    version: '0.1.0',
    commit: '0123456789ab',
    protocolVersion: 2,
    schemaVersion: 3,
    peerBuilds: [],
    members: [],
    lineage: 0,
    leftBehind: false,
    dataLost: false,
    ...over,
  };
}

export function peer(id: string, over: Partial<PeerProgressView> = {}): PeerProgressView {
  return {
    id,
    address: `127.0.0.1:5005${id.charCodeAt(0) - 64}`,
    matchIndex: 100,
    lagEntries: 0,
    lastAckMsAgo: 15,
    inSync: true,
    state: 'replicate',
    learner: false,
    behindMs: 0,
    dataLost: false,
    ...over,
  };
}

export function up(status: ReplicaStatusView): ReplicaProbe {
  return { address: status.address, up: true, status, rttMs: 1.2 };
}

export function down(
  address: string,
  error = 'UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:50052',
): ReplicaProbe {
  return { address, up: false, error };
}

/** A, B, C with A leading epoch 3 and everyone in sync. */
export function healthyProbes(): ReplicaProbe[] {
  return [
    up(statusView({ id: 'A', role: 'leader', lastHeartbeatMsAgo: 0, peers: [peer('B'), peer('C')] })),
    up(statusView({ id: 'B' })),
    up(statusView({ id: 'C' })),
  ];
}

export function event(
  over: Partial<ClusterEventView> & { replicaId: string; seq: number; timeMs: number },
): ClusterEventView {
  return { kind: 'election.won', epoch: 3, message: `${over.replicaId} event ${over.seq}`, details: {}, ...over };
}
