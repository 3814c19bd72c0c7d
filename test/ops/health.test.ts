import { describe, expect, it } from 'vitest';
import {
  assessHealth,
  EXIT_NOT_SERVING,
  EXIT_OK,
  EXIT_UNHEALTHY,
  shortError,
  statusJson,
} from '../../src/ops/model/health.js';
import { down, healthyProbes, peer, statusView, up } from './fixtures.js';

describe('cluster health and the status exit code', () => {
  it('is healthy (exit 0) with exactly one leader and every replica up', () => {
    const h = assessHealth(healthyProbes());
    expect(h).toMatchObject({
      healthy: true,
      exitCode: EXIT_OK,
      leader: { id: 'A', epoch: 3 },
      up: 3,
      down: 0,
      problems: [],
    });
  });

  it('is unhealthy (exit 1) when a replica is down, naming it', () => {
    const probes = healthyProbes();
    probes[2] = down('127.0.0.1:50053');
    const h = assessHealth(probes);
    expect(h.exitCode).toBe(EXIT_UNHEALTHY);
    expect(h.leader?.id).toBe('A');
    expect(h.problems).toEqual(['127.0.0.1:50053 is down: connection refused']);
  });

  it('is not serving (exit 6) without a leader, and says whom a total outage waits for', () => {
    const probes = [
      down('127.0.0.1:50051'),
      up(statusView({ id: 'B', leaderId: '', waitingFor: ['A'], waitingReason: 'A may hold newer writes' })),
      up(statusView({ id: 'C', leaderId: '', waitingFor: ['A'], waitingReason: 'A may hold newer writes' })),
    ];
    const h = assessHealth(probes);
    expect(h.exitCode).toBe(EXIT_NOT_SERVING);
    expect(h.serving).toBe(false);
    expect(h.leader).toBeNull();
    expect(h.waitingFor).toEqual(['A']);
    expect(h.problems[0]).toBe('no leader: waiting for A (A may hold newer writes)');
  });

  it('is not serving when two replicas claim to lead', () => {
    const probes = [
      up(statusView({ id: 'A', role: 'leader', epoch: 3 })),
      up(statusView({ id: 'B', role: 'leader', epoch: 4 })),
      up(statusView({ id: 'C', epoch: 4 })),
    ];
    const h = assessHealth(probes);
    expect(h.exitCode).toBe(EXIT_NOT_SERVING);
    expect(h.leader).toBeNull();
    expect(h.claimants.map((c) => c.id)).toEqual(['A', 'B']);
  });

  it('is not serving with no replicas to ask', () => {
    expect(assessHealth([]).exitCode).toBe(EXIT_NOT_SERVING);
  });

  /** A, B, C with A leading and these peers as A sees them; B and C up. */
  const leadingWith = (peers: ReturnType<typeof peer>[], b = statusView({ id: 'B' })) => [
    up(statusView({ id: 'A', role: 'leader', lastHeartbeatMsAgo: 0, peers })),
    up(b),
    up(statusView({ id: 'C' })),
  ];
  const degraded = (probes: ReturnType<typeof healthyProbes>) => {
    const h = assessHealth(probes);
    expect(h).toMatchObject({ serving: true, healthy: false, exitCode: EXIT_UNHEALTHY });
    return h.problems;
  };

  it('is degraded (exit 1, still serving) when a member is out of the in-sync set', () => {
    expect(degraded(leadingWith([peer('B', { inSync: false, lagEntries: 185 }), peer('C')]))).toEqual([
      'B is out of the in-sync set (185 entries behind)',
    ]);
  });

  it('is degraded when a member lags past the entry or time threshold', () => {
    expect(degraded(leadingWith([peer('B', { lagEntries: 5_000 }), peer('C')]))).toEqual([
      'B lags: 5000 entries behind',
    ]);
    expect(degraded(leadingWith([peer('B', { lagEntries: 3, behindMs: 12_000 }), peer('C')]))).toEqual([
      'B lags: 3 entries behind, for 12 s',
    ]);
    const h = assessHealth(leadingWith([peer('B', { lagEntries: 3, behindMs: 12_000 }), peer('C')]), {
      lagEntries: 1_000,
      lagMs: 60_000,
    });
    expect(h.healthy).toBe(true);
  });

  it('is degraded when a learner is stuck', () => {
    expect(
      degraded(
        leadingWith([
          peer('B'),
          peer('C'),
          peer('D', { learner: true, inSync: false, lagEntries: 400, behindMs: 30_000, state: 'probe' }),
        ]),
      ),
    ).toEqual(['learner D is stuck: 400 entries behind for 30 s (state probe)']);
  });

  it('is degraded when a member lost its data or was left behind by a forced leader', () => {
    expect(degraded(leadingWith([peer('B', { dataLost: true, inSync: false }), peer('C')]))[0]).toMatch(
      /^B lost data it had acknowledged/,
    );
    expect(
      degraded(leadingWith([peer('B'), peer('C')], statusView({ id: 'B', leftBehind: true, lineage: 4294967297 }))),
    ).toEqual(['B was left behind by a forced leader (lineage 4294967297) and waits to be brought up to date']);
  });

  it('is degraded while a member applies a backlog past the entry threshold, though its log is in step', () => {
    const b = statusView({ id: 'B', commitIndex: 50_000, appliedIndex: 12_000 });
    expect(degraded(leadingWith([peer('B'), peer('C')], b))).toEqual([
      'B is applying a backlog: 38000 committed entries not applied yet',
    ]);
    const almost = statusView({ id: 'B', commitIndex: 50_000, appliedIndex: 49_500 });
    expect(assessHealth(leadingWith([peer('B'), peer('C')], almost))).toMatchObject({ healthy: true });
  });

  it('is degraded when a replica waits for another while a leader serves', () => {
    const b = statusView({ id: 'B', leaderId: '', waitingFor: ['A'], waitingReason: 'A may hold newer writes' });
    expect(degraded(leadingWith([peer('B'), peer('C')], b))).toEqual(['B waits for A (A may hold newer writes)']);
  });

  it('reports a member that is down once, as down', () => {
    const probes = healthyProbes();
    probes[0] = up(
      statusView({
        id: 'A',
        role: 'leader',
        peers: [peer('B'), peer('C', { inSync: false, lagEntries: 9 })],
        members: [
          { id: 'A', address: probes[0]!.address, learner: false, inSync: true },
          { id: 'B', address: probes[1]!.address, learner: false, inSync: true },
          { id: 'C', address: probes[2]!.address, learner: false, inSync: false },
        ],
      }),
    );
    probes[2] = down(probes[2]!.address);
    expect(degraded(probes)).toEqual([`C (${probes[2]!.address}) is down: connection refused`]);
    expect(statusJson(probes).replicas[2]).toMatchObject({ id: 'C', up: false });
  });

  it('reports JSON with leader, healthy and every replica in server-list order', () => {
    const probes = healthyProbes();
    probes[1] = down(probes[1]!.address);
    const json = statusJson(probes);
    expect(json.leader).toEqual({ id: 'A', address: probes[0]!.address, epoch: 3 });
    expect(json.healthy).toBe(false);
    expect(json.serving).toBe(true);
    expect(json.replicas.map((r) => [r.address, r.up])).toEqual(probes.map((p) => [p.address, p.up]));
    expect(json.replicas[1]).toMatchObject({ up: false, error: expect.stringContaining('ECONNREFUSED') });
    expect(json.replicas[0]).toMatchObject({ up: true, id: 'A', role: 'leader', commitIndex: 100 });
  });

  it('shortens gRPC errors to what an operator needs', () => {
    expect(shortError('UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1')).toBe(
      'connection refused',
    );
    expect(shortError('DEADLINE_EXCEEDED: Deadline exceeded after 1.001s')).toBe('timed out');
    expect(shortError('14 UNAVAILABLE: something else\nmore')).toBe('something else');
  });
});

describe('health and the configuration', () => {
  const members = [
    { id: 'A', address: '127.0.0.1:50051', learner: false, inSync: true },
    { id: 'B', address: '127.0.0.1:50052', learner: false, inSync: true },
    { id: 'D', address: '127.0.0.1:50054', learner: true, inSync: false },
  ];

  it('counts a down member as a problem, but not a replica that is no longer a member', () => {
    const probes = [
      up(statusView({ id: 'A', role: 'leader', members })),
      up(statusView({ id: 'B', members })),
      down('127.0.0.1:50053'), // C, removed and stopped
      up(statusView({ id: 'D', role: 'learner', members })),
    ];
    const healthy = assessHealth(probes);
    expect(healthy).toMatchObject({ healthy: true, learners: ['D'], exitCode: 0 });
    expect(statusJson(probes).members.map((m) => [m.id, m.learner])).toEqual([
      ['A', false],
      ['B', false],
      ['D', true],
    ]);

    const learnerDown = assessHealth([probes[0]!, probes[1]!, down('127.0.0.1:50054')]);
    expect(learnerDown.healthy).toBe(false);
    expect(learnerDown.problems).toEqual(['learner D (127.0.0.1:50054) is down: connection refused']);
  });

  it('counts every down replica when no status tells the configuration', () => {
    expect(assessHealth([up(statusView({ id: 'A', role: 'leader' })), down('127.0.0.1:50053')]).healthy).toBe(false);
  });
});
