/** Wire messages (ts-proto) to the view types of the public API. */
import type { Conversation, Message } from '../gen/chat/v1/chat.js';
import {
  Role as WireRole,
  type ClusterEvent,
  type ClusterMember,
  type FindLeaderResponse,
  type MembershipResponse,
  type PeerProgress,
  type ReplicaStatus,
} from '../gen/chat/v1/cluster.js';
import type {
  ChatMessage,
  ClusterEventView,
  ClusterMemberView,
  ConversationSummary,
  LeaderView,
  MembershipView,
  PeerProgressView,
  ReplicaStatusView,
  Role,
} from './api.js';

export function toChatMessage(m: Message): ChatMessage {
  return {
    id: m.id,
    sender: m.sender,
    recipient: m.recipient,
    text: m.text,
    sentAt: m.sentAtMs,
    read: m.read,
    senderDeleted: m.senderDeleted,
    ...(m.idempotencyKey !== '' ? { idempotencyKey: m.idempotencyKey } : {}),
  };
}

export function toConversation(c: Conversation): ConversationSummary {
  return {
    peer: c.peer,
    lastMessage: c.lastMessage ? toChatMessage(c.lastMessage) : undefined,
    unreadCount: c.unreadCount,
    peerOnline: c.peerOnline,
    peerDeleted: c.peerDeleted,
  };
}

export function toRole(role: WireRole): Role {
  switch (role) {
    case WireRole.ROLE_LEADER:
      return 'leader';
    case WireRole.ROLE_FOLLOWER:
      return 'follower';
    case WireRole.ROLE_CANDIDATE:
      return 'candidate';
    case WireRole.ROLE_LEARNER:
      return 'learner';
    default:
      return 'unknown';
  }
}

function toPeer(p: PeerProgress): PeerProgressView {
  return {
    id: p.id,
    address: p.address,
    matchIndex: p.matchIndex,
    lagEntries: p.lagEntries,
    lastAckMsAgo: p.lastAckMsAgo,
    inSync: p.inSync,
    state: p.state,
    learner: p.learner,
    behindMs: p.behindMs,
    dataLost: p.dataLost,
  };
}

export function toMember(m: ClusterMember): ClusterMemberView {
  return { id: m.id, address: m.address, learner: m.learner, inSync: m.inSync };
}

export function toMembership(r: MembershipResponse, leader: { id: string; address: string }): MembershipView {
  return {
    leaderId: leader.id,
    leaderAddress: leader.address,
    epoch: r.epoch,
    configIndex: r.configIndex,
    members: r.members.map(toMember),
  };
}

export function toReplicaStatus(s: ReplicaStatus): ReplicaStatusView {
  return {
    id: s.id,
    address: s.address,
    role: toRole(s.role),
    epoch: s.epoch,
    leaderId: s.leaderId,
    lastIndex: s.lastIndex,
    lastEpoch: s.lastEpoch,
    commitIndex: s.commitIndex,
    appliedIndex: s.appliedIndex,
    logStartIndex: s.logStartIndex,
    inSync: [...s.inSync],
    caughtUp: s.caughtUp,
    lastHeartbeatMsAgo: s.lastHeartbeatMsAgo,
    uptimeMs: s.uptimeMs,
    waitingFor: [...s.waitingFor],
    waitingReason: s.waitingReason,
    peers: s.peers.map(toPeer),
    connectedClients: s.connectedClients,
    openStreams: s.openStreams,
    writesPerSecond: s.writesPerSecond,
    dataSizeBytes: s.dataSizeBytes,
    mode: s.mode,
    clusterId: s.clusterId,
    version: s.version,
    commit: s.commit,
    protocolVersion: s.protocolVersion,
    schemaVersion: s.schemaVersion,
    peerBuilds: s.peerBuilds.map((b) => ({
      id: b.id,
      version: b.version,
      commit: b.commit,
      protocolVersion: b.protocolVersion,
      lastSeenMsAgo: b.lastSeenMsAgo,
    })),
    members: s.members.map(toMember),
    lineage: s.lineage,
    leftBehind: s.leftBehind,
    dataLost: s.dataLost,
  };
}

/** The event's details object; anything but a JSON object comes out as {}. */
export function parseDetails(json: string): Record<string, unknown> {
  if (json === '') return {};
  try {
    const value: unknown = JSON.parse(json);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

export function toClusterEvent(e: ClusterEvent): ClusterEventView {
  return {
    seq: e.seq,
    timeMs: e.timeMs,
    replicaId: e.replicaId,
    kind: e.kind,
    epoch: e.epoch,
    message: e.message,
    details: parseDetails(e.detailsJson),
  };
}

export function toLeaderView(r: FindLeaderResponse): LeaderView {
  return {
    leaderId: r.leaderId,
    leaderAddress: r.leaderAddress,
    epoch: r.epoch,
    replicas: r.replicas.map((x) => ({ id: x.id, address: x.address, learner: x.learner })),
  };
}
