import { describe, expect, it } from 'vitest';
import { emptyMemory, layoutTable, remember, replicaRows } from '../../src/ops/model/replica-table.js';
import { down, healthyProbes, peer, statusView, up } from './fixtures.js';

const NOW = 1_700_000_000_000;

function columnsOf(header: string): string[] {
  return header.trim().split(/\s+/);
}

describe('replica rows', () => {
  it('marks the leader and shows log positions, lag and load of each replica', () => {
    const rows = replicaRows(healthyProbes(), NOW);
    expect(rows.map((r) => r.tone)).toEqual(['leader', 'follower', 'follower']);
    expect(rows[0]!.cells.id).toBe('*A');
    expect(rows[1]!.cells.id).toBe(' B');
    expect(rows[1]!.cells).toMatchObject({
      role: 'follower',
      epoch: '3',
      isr: 'yes',
      commit: '100',
      lag: '0',
      ack: '15ms',
      hb: '20ms',
      clients: '2/1',
      wps: '13',
      data: '2.0M',
    });
  });

  it('shows a replica that stopped answering as down, under the id and with the time it was last seen', () => {
    const memory = remember(emptyMemory(), healthyProbes(), NOW - 12_000);
    const probes = healthyProbes();
    probes[1] = down(probes[1]!.address);
    const row = replicaRows(probes, NOW, memory)[1]!;
    expect(row.tone).toBe('down');
    expect(row.id).toBe('B');
    expect(row.cells.role).toBe('DOWN');
    expect(row.cells.note).toBe('down 12s, refused');
  });

  it('colours a follower that is far behind, silent, or out of the in-sync set as lagging', () => {
    const leader = (peers: ReturnType<typeof peer>[], inSync = ['A', 'B', 'C']) =>
      up(statusView({ id: 'A', role: 'leader', lastIndex: 500, inSync, peers }));
    const behind = replicaRows(
      [
        leader([peer('B', { lagEntries: 400 }), peer('C')]),
        up(statusView({ id: 'B', lastIndex: 100 })),
        up(statusView({ id: 'C', lastIndex: 500 })),
      ],
      NOW,
    );
    expect(behind.map((r) => r.tone)).toEqual(['leader', 'lagging', 'follower']);
    expect(behind[1]!.cells.lag).toBe('400');
    const silent = replicaRows(
      [
        leader([peer('B', { lastAckMsAgo: 4000 }), peer('C')]),
        up(statusView({ id: 'B' })),
        up(statusView({ id: 'C' })),
      ],
      NOW,
    );
    expect(silent[1]!.tone).toBe('lagging');
    expect(silent[1]!.cells.ack).toBe('4.0s');
    const outOfSet = replicaRows(
      [
        leader([peer('B', { inSync: false }), peer('C')], ['A', 'C']),
        up(statusView({ id: 'B' })),
        up(statusView({ id: 'C' })),
      ],
      NOW,
    );
    expect(outOfSet[1]!.tone).toBe('lagging');
    expect(outOfSet[1]!.cells.isr).toBe('no');
  });

  it('says whom a replica waits for during a total outage', () => {
    const probes = [
      down('127.0.0.1:50051'),
      up(statusView({ id: 'B', leaderId: '', waitingFor: ['A'], waitingReason: 'A may hold the newest writes' })),
      up(statusView({ id: 'C', leaderId: '', waitingFor: ['A'], waitingReason: 'A may hold the newest writes' })),
    ];
    const rows = replicaRows(probes, NOW);
    expect(rows.map((r) => r.tone)).toEqual(['down', 'waiting', 'waiting']);
    expect(rows[1]!.cells.note).toBe('waits for A: A may hold the newest writes');
    expect(rows[0]!.id).toBe('?');
  });
});

describe('table layout', () => {
  const probes = () => {
    const p = healthyProbes();
    p[2] = down(p[2]!.address);
    return p;
  };

  it('shows every column on a wide terminal', () => {
    const table = layoutTable(replicaRows(probes(), NOW), 200);
    expect(columnsOf(table.header)).toEqual([
      'id',
      'address',
      'up/down',
      'role',
      'epoch',
      'isr',
      'last',
      'commit',
      'applied',
      'lag',
      'ack',
      'hb',
      'cli/str',
      'w/s',
      'data',
      'rtt',
      'version',
      'waiting',
      '/',
      'note',
    ]);
    expect(table.lines[0]!.text).toContain('127.0.0.1:50051');
  });

  it.each([80, 60, 40])('fits %i columns by dropping the less important columns first', (width) => {
    const table = layoutTable(replicaRows(probes(), NOW), width);
    for (const line of [table.header, ...table.lines.map((l) => l.text)])
      expect(Array.from(line).length).toBeLessThanOrEqual(width);
    const header = columnsOf(table.header);
    expect(header).toEqual(expect.arrayContaining(['id', 'role', 'epoch']));
    expect(header).not.toContain('address');
    expect(table.lines[2]!.text).toContain('DOWN');
  });

  it('keeps lag and the in-sync flag at 80 columns', () => {
    const header = columnsOf(layoutTable(replicaRows(probes(), NOW), 80).header);
    expect(header).toEqual(expect.arrayContaining(['commit', 'lag', 'isr', 'ack']));
  });

  it('leaves out the note column when no replica has anything to say', () => {
    const table = layoutTable(replicaRows(healthyProbes(), NOW), 200);
    expect(table.header).not.toContain('note');
  });
});

describe('learners and the configuration', () => {
  const config = (learnerAddress: string) => [
    { id: 'A', address: '127.0.0.1:50051', learner: false, inSync: true },
    { id: 'B', address: '127.0.0.1:50052', learner: false, inSync: true },
    { id: 'C', address: '127.0.0.1:50053', learner: false, inSync: true },
    { id: 'D', address: learnerAddress, learner: true, inSync: false },
  ];

  it('shows a learner catching up with its role and lag, not as a lagging follower', () => {
    const members = config('127.0.0.1:50054');
    const probes = [
      up(
        statusView({
          id: 'A',
          role: 'leader',
          lastIndex: 900,
          members,
          peers: [
            peer('B'),
            peer('C'),
            peer('D', { lagEntries: 800, inSync: false, learner: true, state: 'snapshot' }),
          ],
        }),
      ),
      up(statusView({ id: 'B', members })),
      up(statusView({ id: 'C', members })),
      up(statusView({ id: 'D', role: 'learner', lastIndex: 100, members })),
    ];
    const rows = replicaRows(probes, NOW);
    expect(rows.map((r) => [r.id, r.cells.role, r.tone])).toEqual([
      ['A', 'leader', 'leader'],
      ['B', 'follower', 'follower'],
      ['C', 'follower', 'follower'],
      ['D', 'learner', 'learner'],
    ]);
    expect(rows[3]!.cells.lag).toBe('800');
    expect(rows[3]!.cells.note).toContain('learner: catching up, 800 behind');
    expect(rows[3]!.cells.note).toContain('leader sends snapshot');
  });

  it('names a member that is down from the configuration and says it is a learner; a replica outside it says so', () => {
    const members = config('127.0.0.1:50054');
    const probes = [
      up(
        statusView({
          id: 'A',
          role: 'leader',
          members,
          peers: [peer('B'), peer('C'), peer('D', { learner: true, lastAckMsAgo: -1 })],
        }),
      ),
      up(statusView({ id: 'B', members })),
      up(statusView({ id: 'C', members })),
      down('127.0.0.1:50054'),
      up(
        statusView({
          id: 'E',
          address: '127.0.0.1:50055',
          role: 'learner',
          leaderId: '',
          members: [],
          waitingReason: 'not a member: waiting to be added',
        }),
      ),
    ];
    const rows = replicaRows(probes, NOW);
    expect(rows[3]).toMatchObject({
      id: 'D',
      tone: 'down',
      cells: { role: 'DOWN', note: 'learner, connection refused' },
    });
    expect(rows[4]).toMatchObject({ id: 'E', tone: 'learner', cells: { role: 'learner' } });
    expect(rows[4]!.cells.note).toMatch(/^not a member: waiting to be added(;|$)/);
    const quiet = replicaRows(
      [probes[0]!, up(statusView({ id: 'E', address: '127.0.0.1:50055', role: 'learner', members: [] }))],
      NOW,
    );
    expect(quiet[1]!.cells.note).toBe('not a member');
  });
});
