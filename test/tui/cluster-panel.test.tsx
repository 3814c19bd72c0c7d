/** The chat-tui cluster panel shows learners: a replica being added, up or down, and one outside the configuration. */
import { Box } from 'ink';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { ClusterMemberView, LeaderView, ReplicaProbe, ReplicaStatusView } from '../../src/client/api.js';
import { ClusterPanel } from '../../src/tui/components/ClusterPanel.js';
import { StatusBar } from '../../src/tui/components/StatusBar.js';
import { clusterRows, clusterSummary, connectionStatus } from '../../src/tui/state/status.js';
import { peer, statusView } from '../ops/fixtures.js';
import { stripAnsi } from './support.js';

const members: ClusterMemberView[] = [
  { id: 'A', address: '10.0.0.1:50051', learner: false, inSync: true },
  { id: 'B', address: '10.0.0.2:50051', learner: false, inSync: true },
  { id: 'D', address: '10.0.0.4:50051', learner: true, inSync: false },
];

function status(
  id: string,
  role: ReplicaStatusView['role'],
  extra: Partial<ReplicaStatusView> = {},
): ReplicaStatusView {
  return statusView({
    id,
    address: members.find((m) => m.id === id)?.address ?? '10.0.0.9:50051',
    role,
    epoch: 4,
    lastIndex: 900,
    lastEpoch: 4,
    commitIndex: 900,
    appliedIndex: 900,
    inSync: ['A', 'B'],
    members,
    ...extra,
  });
}

const leaderStatus = status('A', 'leader', {
  peers: [
    peer('B', { address: '10.0.0.2:50051', matchIndex: 900, lastAckMsAgo: 5 }),
    peer('D', {
      address: '10.0.0.4:50051',
      matchIndex: 300,
      lagEntries: 600,
      lastAckMsAgo: 5,
      inSync: false,
      state: 'snapshot',
      learner: true,
    }),
  ],
});
const view: LeaderView = {
  leaderId: 'A',
  leaderAddress: '10.0.0.1:50051',
  epoch: 4,
  replicas: members.map(({ id, address, learner }) => ({ id, address, learner })),
};

describe('cluster panel', () => {
  it('shows a learner being added with its lag, and the learner in the title', () => {
    const probes: ReplicaProbe[] = [
      { address: '10.0.0.1:50051', up: true, status: leaderStatus, rttMs: 1 },
      { address: '10.0.0.2:50051', up: true, status: status('B', 'follower'), rttMs: 1 },
      { address: '10.0.0.4:50051', up: true, status: status('D', 'learner', { appliedIndex: 300 }), rttMs: 2 },
    ];
    const { lastFrame, unmount } = render(
      <ClusterPanel
        snapshot={{ probes, leader: view, knownIds: new Map(), at: 1000 }}
        width={100}
        height={6}
        now={2000}
      />,
    );
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
    // Up counts members only: E answers but is not one, and B (a member) did not answer this sweep.
    expect(clusterSummary(probes, view).text).toBe('leader A · epoch 4 · 1/3 up · learner D');
  });
});

describe('cluster panel and status bar agree', () => {
  const three: ClusterMemberView[] = [
    { id: 'A', address: '10.0.0.1:50051', learner: false, inSync: true },
    { id: 'B', address: '10.0.0.2:50051', learner: false, inSync: true },
    { id: 'C', address: '10.0.0.3:50051', learner: false, inSync: true },
  ];

  it('never names a leader that is down, even while FindLeader still does', () => {
    const probes: ReplicaProbe[] = [
      { address: '10.0.0.1:50051', up: false, error: '14 UNAVAILABLE: No connection established' },
      {
        address: '10.0.0.2:50051',
        up: true,
        status: statusView({ id: 'B', address: '10.0.0.2:50051', role: 'candidate', epoch: 9, members: three }),
        rttMs: 1,
      },
      {
        address: '10.0.0.3:50051',
        up: true,
        status: statusView({ id: 'C', address: '10.0.0.3:50051', role: 'follower', epoch: 8, members: three }),
        rttMs: 1,
      },
    ];
    const stale: LeaderView = {
      leaderId: 'A',
      leaderAddress: '10.0.0.1:50051',
      epoch: 8,
      replicas: three.map(({ id, address, learner }) => ({ id, address, learner })),
    };
    const summary = clusterSummary(probes, stale);
    expect(summary.text).not.toContain('leader A');
    expect(summary.text).toBe('no leader yet · 2/3 up');
    expect(clusterRows(probes, stale).find((r) => r.address === '10.0.0.1:50051')).toMatchObject({
      role: 'down',
      leader: false,
    });
  });

  it('drops removed replicas that are down and counts members only', () => {
    // Two of four were removed: D is stopped, C still runs outside the configuration.
    const two = three.slice(0, 2);
    const probes: ReplicaProbe[] = [
      {
        address: '10.0.0.1:50051',
        up: true,
        status: statusView({ id: 'A', address: '10.0.0.1:50051', role: 'leader', epoch: 5, members: two }),
        rttMs: 1,
      },
      {
        address: '10.0.0.2:50051',
        up: true,
        status: statusView({ id: 'B', address: '10.0.0.2:50051', role: 'follower', epoch: 5, members: two }),
        rttMs: 1,
      },
      {
        address: '10.0.0.3:50051',
        up: true,
        status: statusView({ id: 'C', address: '10.0.0.3:50051', role: 'learner', epoch: 5, members: [] }),
        rttMs: 1,
      },
      { address: '10.0.0.4:50051', up: false, error: '14 UNAVAILABLE: No connection established' },
    ];
    expect(clusterRows(probes, undefined).map((r) => [r.id, r.note])).toEqual([
      ['A', '1 ms'],
      ['B', '1 ms'],
      ['C', 'not a member · 1 ms'],
    ]);
    expect(clusterSummary(probes, undefined).text).toBe('leader A · epoch 5 · 2/2 up');
  });

  it('shows one epoch: the status bar leaves it to the panel', () => {
    const probes: ReplicaProbe[] = [
      {
        address: '10.0.0.1:50051',
        up: true,
        status: statusView({
          id: 'A',
          address: '10.0.0.1:50051',
          role: 'leader',
          epoch: 320,
          members: three.slice(0, 1),
        }),
        rttMs: 1,
      },
    ];
    // The connection was made at epoch 256; the leader has been re-elected since.
    const status = connectionStatus({ kind: 'connected', replicaId: 'A', address: '10.0.0.1:50051', epoch: 256 }, 0);
    const { lastFrame, unmount } = render(
      <Box flexDirection="column">
        <StatusBar width={100} me="alice" status={status} unread={0} />
        <ClusterPanel
          snapshot={{ probes, leader: undefined, knownIds: new Map(), at: 0 }}
          width={100}
          height={4}
          now={0}
        />
      </Box>,
    );
    const epochs = new Set([...stripAnsi(lastFrame() ?? '').matchAll(/epoch (\d+)/g)].map((m) => m[1]));
    unmount();
    expect([...epochs]).toEqual(['320']);
  });
});
