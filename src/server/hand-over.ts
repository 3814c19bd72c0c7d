/**
 * Handing leadership over (`chat-ops transfer-leader`, and every stop of a
 * leader): refused up front when a voting peer runs a build of a peer protocol
 * that does not know transfers (mid-way through a rolling upgrade), since it
 * would refuse the target's campaign and turn the hand-over into an election.
 */
import { describeBuild, type PeerVersions } from './peer-versions.js';
import { TransferError, type ReplicaControl } from './replica/handle.js';
import type { NodeId } from './replication/types.js';
import { TRANSFER_PROTOCOL_VERSION } from './versions.js';

export async function handOver(
  replica: ReplicaControl,
  peerVersions: PeerVersions,
  target?: NodeId,
  timeoutMs?: number,
): Promise<{ leaderId: NodeId; epoch: number }> {
  if (replica.status().role === 'leader') {
    const voters = replica
      .members()
      .filter((m) => !m.learner && m.id !== replica.id)
      .map((m) => m.id);
    const older = peerVersions.olderThan(voters, TRANSFER_PROTOCOL_VERSION);
    if (older.length > 0) {
      const builds = older.map((id) => `${id} runs ${describeBuild(peerVersions.get(id)!)}`).join('; ');
      throw new TransferError(
        `${builds}: a build without leadership transfer would refuse the campaign; upgrade it first`,
      );
    }
  }
  return replica.transferLeadership(target, timeoutMs);
}
