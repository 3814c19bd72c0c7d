/** The chat-tui cluster panel shows learners: a replica being added, up or down, and one outside the configuration. */
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { ClusterMemberView, LeaderView, ReplicaProbe, ReplicaStatusView } from '../../src/client/api.js';
import { ClusterPanel } from '../../src/tui/components/ClusterPanel.js';
import { clusterRows, clusterSummary } from '../../src/tui/state/status.js';
import { peer, statusView } from '../ops/fixtures.js';
import { stripAnsi } from './support.js';

const members: ClusterMemberView[] = [
  { id: 'A', address: '10.0.0.1:50051', learner: false, inSync: true },
  { id: 'B', address: '10.0.0.2:50051', learner: false, inSync: true },
  { id: 'D', address: '10.0.0.4:50051', learner: true, inSync: false },
];

function status(id: string, role: ReplicaStatusView['role'], extra: Partial<ReplicaStatusView> = {}): ReplicaStatusView {
  return statusView({
    id, address: members.find((m) => m.id === id)?.address ?? '10.0.0.9:50051', role, epoch: 4, lastIndex: 900, lastEpoch: 4, commitIndex: 900,
    appliedIndex: 900, inSync: ['A', 'B'], members, ...extra,
  });
}

const leaderStatus = status('A', 'leader', {
  peers: [
    peer('B', { address: '10.0.0.2:50051', matchIndex: 900, lastAckMsAgo: 5 }),
    peer('D', { address: '10.0.0.4:50051', matchIndex: 300, lagEntries: 600, lastAckMsAgo: 5, inSync: false, state: 'snapshot', learner: true }),
  ],
});
const view: LeaderView = { leaderId: 'A', leaderAddress: '10.0.0.1:50051', epoch: 4, replicas: members.map(({ id, address, learner }) => ({ id, address, learner })) };

describe('cluster panel', () => {
  it('shows a learner being added with its lag, and the learner in the title', () => {
    const probes: ReplicaProbe[] = [
      { address: '10.0.0.1:50051', up: true, status: leaderStatus, rttMs: 1 },
      { address: '10.0.0.2:50051', up: true, status: status('B', 'follower'), rttMs: 1 },
      { address: '10.0.0.4:50051', up: true, status: status('D', 'learner', { appliedIndex: 300 }), rttMs: 2 },
    ];
    const { lastFrame, unmount } = render(<ClusterPanel snapshot={{ probes, leader: view, knownIds: new Map(), at: 1000 }} width={100} height={6} now={2000} />);
    const lines = stripAnsi(lastFrame() ?? '').split('\n');
    expect(lines[0]).toContain('leader A · epoch 4 · 3/3 up · learner D');
    const d = lines.find((l) => l.startsWith('D '));
    expect(d).toMatch(/^D +10\.0\.0\.4:50051 +learner +4 +900 +300 +600 +learner, no vote yet · 2 ms/);
    unmount();
  });

  it('keeps a learner that is down in the list, named and marked, and marks a replica outside the configuration', () => {
    const probes: ReplicaProbe[] = [
      { address: '10.0.0.1:50051', up: true, status: leaderStatus, rttMs: 1 },
      { address: '10.0.0.4:50051', up: false, error: '14 UNAVAILABLE: No connection established' },
      { address: '10.0.0.9:50051', up: true, status: status('E', 'learner', { members: [], leaderId: '' }), rttMs: 1 },
    ];
    const rows = clusterRows(probes, view);
    expect(rows.map((r) => [r.id, r.role, r.note])).toEqual([
      ['A', 'leader', '1 ms'],
      ['D', 'down', 'learner · unreachable'],
      ['E', 'learner', 'not a member · 1 ms'],
    ]);
    expect(clusterSummary(probes, view).text).toBe('leader A · epoch 4 · 2/3 up · learner D');
  });
});
