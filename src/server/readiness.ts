/**
 * The replica's own readiness, reported by the gRPC health service under
 * REPLICATION_SERVICE_NAME: NOT_SERVING while it is stuck, so a load balancer
 * or an orchestrator's probe sees what `chat-ops status` sees.
 */
import type { ReplicaStatusView } from './replica/handle.js';

export const REPLICATION_SERVICE_NAME = 'chat.v1.ReplicationService';

/** How long a replica may go without a leader before it counts as stuck (an election takes well under a second). */
export const LEADERLESS_STUCK_MS = 10_000;

/** Why this replica is stuck ('' when it is not): what a health probe of its readiness should report NOT_SERVING for. */
export function stuckReason(s: ReplicaStatusView): string {
  if (s.leftBehind) return `left behind by a leader forced at epoch ${s.force}: waiting to be brought up to date`;
  if (s.dataLost) return s.waitingReason || 'it lost its data and waits for the leader to bring it back';
  if (s.role === 'leader') return '';
  if (s.waitingFor.length > 0)
    return `waiting for ${s.waitingFor.join(', ')}${s.waitingReason ? `: ${s.waitingReason}` : ''}`;
  const leaderless = s.leaderContactAgo < 0 ? s.uptimeMs : s.leaderContactAgo;
  if (leaderless > LEADERLESS_STUCK_MS)
    return `no leader heard for ${Math.round(leaderless / 1000)} s${s.waitingReason ? `: ${s.waitingReason}` : ''}`;
  return '';
}
