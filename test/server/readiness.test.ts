import { describe, expect, it } from 'vitest';
import { initialConfig } from '../../src/server/replication/membership.js';
import { LEADERLESS_STUCK_MS, stuckReason } from '../../src/server/readiness.js';
import type { ReplicaStatusView } from '../../src/server/replica/handle.js';

/** A follower of leader A, in step, as the driver reports it. */
function follower(over: Partial<ReplicaStatusView> = {}): ReplicaStatusView {
  return {
    id: 'B',
    role: 'follower',
    voter: true,
    epoch: 64,
    leaderId: 'A',
    lastIndex: 10,
    lastEpoch: 64,
    commitIndex: 10,
    appliedIndex: 10,
    logStartIndex: 1,
    inSync: ['A', 'B', 'C'],
    config: initialConfig(['A', 'B', 'C'].map((id) => ({ id, address: id }))),
    caughtUp: true,
    leaderContactAgo: 20,
    waitingFor: [],
    waitingReason: '',
    peers: [],
    mode: 'in-sync',
    force: 0,
    leftBehind: false,
    incarnation: 'b1',
    recordedIncarnation: 'b1',
    dataLost: false,
    uptimeMs: 60_000,
    writesPerSecond: 0,
    address: '127.0.0.1:2',
    ...over,
  };
}

describe("a replica's readiness (the health service's chat.v1.ReplicationService)", () => {
  it('is ready in step with a leader, and as the leader', () => {
    expect(stuckReason(follower())).toBe('');
    expect(stuckReason(follower({ role: 'leader', leaderContactAgo: 0 }))).toBe('');
  });

  it('is stuck when left behind by a forced leader, when it lost its data, or waiting for a replica', () => {
    expect(stuckReason(follower({ leftBehind: true, force: 4294967297 }))).toMatch(
      /^left behind by a leader forced at epoch 4294967297/,
    );
    expect(
      stuckReason(
        follower({ dataLost: true, waitingReason: 'its data directory is not the one the cluster knows as B' }),
      ),
    ).toMatch(/not the one the cluster knows/);
    expect(stuckReason(follower({ leaderId: '', waitingFor: ['A'], waitingReason: 'A may hold newer writes' }))).toBe(
      'waiting for A: A may hold newer writes',
    );
  });

  it('is stuck long without a leader, not during an election', () => {
    expect(stuckReason(follower({ leaderId: '', leaderContactAgo: 800 }))).toBe('');
    expect(stuckReason(follower({ leaderId: '', leaderContactAgo: LEADERLESS_STUCK_MS + 5_000 }))).toBe(
      'no leader heard for 15 s',
    );
    expect(stuckReason(follower({ leaderId: '', leaderContactAgo: -1, uptimeMs: LEADERLESS_STUCK_MS + 1_000 }))).toBe(
      'no leader heard for 11 s',
    );
  });
});
