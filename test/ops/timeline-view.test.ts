import { describe, expect, it } from 'vitest';
import type { ClusterEventView } from '../../src/client/api.js';
import { buildFrame, NO_TIMELINE_FILTER, type FrameInput } from '../../src/ops/model/dashboard.js';
import { logLine, timelineParts } from '../../src/ops/model/event-format.js';
import { EventStore } from '../../src/ops/model/events.js';
import { screenLayout } from '../../src/ops/model/layout.js';
import { emptyMemory } from '../../src/ops/model/replica-table.js';
import { throughputSummary, timelineRows } from '../../src/ops/model/timeline-rows.js';
import { isLive, LIVE, pause, scrollBy, scrollToOldest, visibleWindow } from '../../src/ops/model/scroll.js';
import { formatBytes, formatDuration, truncate, wrapWords } from '../../src/ops/model/text.js';
import { down, event, healthyProbes, statusView, up } from './fixtures.js';

function events(n: number): ClusterEventView[] {
  return Array.from({ length: n }, (_, i) => event({ replicaId: 'ABC'[i % 3]!, seq: i + 1, timeMs: 1000 + i * 10 }));
}

const seqs = (list: readonly ClusterEventView[]) => list.map((e) => e.seq);

describe('timeline viewport', () => {
  it('follows the newest events while live', () => {
    const w = visibleWindow(events(10), LIVE, 4);
    expect(seqs(w.rows)).toEqual([7, 8, 9, 10]);
    expect(w).toMatchObject({ older: 6, newer: 0 });
  });

  it('stays put when paused while new events arrive, and counts them', () => {
    const store = new EventStore();
    store.addAll(events(10));
    const paused = pause(store.all(), LIVE);
    store.addAll(events(15).slice(10));
    const w = visibleWindow(store.all(), paused, 4);
    expect(seqs(w.rows)).toEqual([7, 8, 9, 10]);
    expect(w.newer).toBe(5);
  });

  it('scrolls back by lines and pages without leaving the first page, and never resumes live by itself', () => {
    const list = events(20);
    let v = scrollBy(list, LIVE, -1, 5);
    expect(seqs(visibleWindow(list, v, 5).rows)).toEqual([15, 16, 17, 18, 19]);
    v = scrollBy(list, v, -5, 5);
    expect(seqs(visibleWindow(list, v, 5).rows)).toEqual([10, 11, 12, 13, 14]);
    v = scrollBy(list, v, -100, 5);
    expect(seqs(visibleWindow(list, v, 5).rows)).toEqual([1, 2, 3, 4, 5]);
    v = scrollBy(list, v, 100, 5);
    expect(seqs(visibleWindow(list, v, 5).rows)).toEqual([16, 17, 18, 19, 20]);
    expect(isLive(v)).toBe(false);
    expect(seqs(visibleWindow(list, scrollToOldest(list, 5), 5).rows)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('screen layout', () => {
  it('never uses more rows than the terminal minus one, for any size', () => {
    for (let rows = 1; rows <= 60; rows++) {
      for (const replicas of [0, 3, 7]) {
        for (const banner of [0, 1]) {
          const l = screenLayout(rows, replicas, banner);
          expect(l.total).toBeLessThanOrEqual(Math.max(1, rows - 1));
          expect(l.title + l.footer + l.tableHeader + l.tableRows + l.banner + l.timelineHeader + l.timelineRows).toBe(
            l.total,
          );
        }
      }
    }
  });

  it('gives every replica a row and the rest to the timeline on a normal terminal', () => {
    expect(screenLayout(24, 3, 0)).toMatchObject({ tableRows: 3, timelineRows: 16, total: 23 });
  });

  it('keeps a timeline row on a short terminal by cutting the table', () => {
    const l = screenLayout(10, 7, 0);
    expect(l.timelineHeader + l.timelineRows).toBe(2);
    expect(l.tableRows).toBe(4);
  });
});

describe('dashboard frame', () => {
  const input = (over: Partial<FrameInput> = {}): FrameInput => {
    const list = events(50);
    return {
      columns: 80,
      rows: 24,
      now: 5_000,
      intervalMs: 500,
      sweep: { probes: healthyProbes(), at: 4_900 },
      sweepError: undefined,
      memory: emptyMemory(),
      timeline: timelineRows(list),
      shownEvents: list.length,
      totalEvents: list.length,
      filter: NO_TIMELINE_FILTER,
      viewport: LIVE,
      sourceLabel: 'event streams',
      sourceStates: new Map([['a', { up: true }]]),
      mode: 'normal',
      draft: '',
      ...over,
    };
  };
  const text = (f: ReturnType<typeof buildFrame>) => f.lines.map((l) => l.map((s) => s.text).join(''));

  it.each([
    [80, 24],
    [40, 12],
    [160, 48],
    [20, 5],
    [200, 3],
  ])('fits a %ix%i terminal', (columns, rows) => {
    for (const mode of ['normal', 'help', 'filter'] as const) {
      const lines = text(buildFrame(input({ columns, rows, mode })));
      expect(lines.length).toBeLessThanOrEqual(rows - 1);
      for (const l of lines) expect(Array.from(l).length).toBeLessThanOrEqual(columns);
    }
  });

  it('shows the leader, the replicas, the newest events and the key hint', () => {
    const lines = text(buildFrame(input()));
    expect(lines[0]).toContain('leader A epoch 3');
    expect(lines[0]).toContain('3/3 up');
    expect(lines.some((l) => l.startsWith('*A'))).toBe(true);
    expect(lines.some((l) => l.includes('B event 50'))).toBe(true);
    expect(lines.some((l) => l.includes('A event 1 '))).toBe(false);
    expect(lines.at(-1)).toContain('? help');
  });

  it('warns when there is no leader and says whom the cluster waits for', () => {
    const probes = healthyProbes();
    probes[0] = down(probes[0]!.address);
    for (const p of probes)
      if (p.up)
        Object.assign(p.status, {
          role: 'follower',
          leaderId: '',
          waitingFor: ['A'],
          waitingReason: 'A may hold newer writes',
        });
    const lines = text(buildFrame(input({ sweep: { probes, at: 4_900 } })));
    expect(lines[0]).toContain('NO LEADER');
    expect(lines.some((l) => l.includes('total outage: waiting for A'))).toBe(true);
  });

  it('says how many replicas a short terminal leaves out of the table', () => {
    const probes = [...healthyProbes(), up(statusView({ id: 'D' }))];
    probes[2] = down(probes[2]!.address);
    const lines = text(buildFrame(input({ rows: 9, sweep: { probes, at: 4_900 } })));
    const rows = lines.filter((l) => /^[* ][A-D] /.test(l));
    expect(rows.map((l) => l.slice(1, 2))).toEqual(['A', 'C']);
    expect(lines.some((l) => l.includes('+2 more replicas:'))).toBe(true);
  });

  it('shows an old answer as stale rather than current', () => {
    const lines = text(buildFrame(input({ now: 20_000, sweepError: 'timed out' })));
    expect(lines[0]).toContain('no answer for 15s');
  });
});

describe('formatting', () => {
  it('writes durations, sizes and truncations compactly', () => {
    expect([
      formatDuration(0),
      formatDuration(850),
      formatDuration(1234),
      formatDuration(75_000),
      formatDuration(7_260_000),
      formatDuration(-1),
    ]).toEqual(['0ms', '850ms', '1.2s', '1m15s', '2h01m', 'never']);
    expect([formatBytes(512), formatBytes(1536), formatBytes(10 * 1024 * 1024)]).toEqual(['512B', '1.5K', '10M']);
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('a\x1b[31mb', 10)).toBe('a [31mb');
    expect(wrapWords('one two three four', 9)).toEqual(['one two', 'three', 'four']);
  });

  it('prints an event as ISO time, replica, kind, epoch, message and key=value details', () => {
    const e = event({
      replicaId: 'B',
      seq: 1,
      timeMs: Date.UTC(2024, 10, 23, 8, 0, 1, 234),
      kind: 'isr.shrink',
      epoch: 4,
      message: 'B removes C',
      details: { epoch: 4, removed: 'C', inSync: ['A', 'B'], reason: 'no ack for 500 ms' },
    });
    expect(logLine(e)).toBe(
      '2024-11-23T08:00:01.234Z B isr.shrink e4 B removes C removed=C inSync=A,B reason="no ack for 500 ms"',
    );
  });

  it('cuts a timeline line to the width', () => {
    const e = event({ replicaId: 'A', seq: 1, timeMs: 0, message: 'x'.repeat(200), details: { a: 1 } });
    const parts = timelineParts(e, 50);
    expect(parts.map((p) => p.text).join('')).toHaveLength(50);
    expect(parts.at(-1)!.text.endsWith('…')).toBe(true);
  });
});

describe('throughput rows', () => {
  const batch = (replicaId: string, seq: number, timeMs: number, role: string, entries: number) =>
    event({
      replicaId,
      seq,
      timeMs,
      kind: 'replication.batch',
      message: `${role} appended ${entries}`,
      details: { entries, batches: 10, avgBatch: 4, perSecond: 40, commitIndex: 100 + seq, role },
    });

  it('sums up a round of throughput events in one row, one event per replica, but keeps every other event', () => {
    const list = [
      batch('A', 1, 1000, 'leader', 40),
      batch('B', 1, 1010, 'follower', 38),
      batch('C', 1, 1020, 'follower', 36),
      batch('A', 2, 2000, 'leader', 41),
      event({ replicaId: 'B', seq: 2, timeMs: 2005, kind: 'isr.shrink' }),
      batch('B', 3, 2010, 'follower', 39),
    ];
    const rows = timelineRows(list);
    expect(rows.map((r) => r.events.map((e) => `${e.replicaId}${e.seq}`).join(','))).toEqual([
      'A1,B1,C1',
      'A2',
      'B2',
      'B3',
    ]);
    expect(rows[0]).toMatchObject({ replicaId: 'C', seq: 1, timeMs: 1020 });
    expect(throughputSummary(rows[0]!.events)).toBe(
      'appended A*:40 B:38 C:36 · leader 10 batches, 4/batch · applied 40/s · commit 101',
    );
  });

  it('shows a round as one timeline line', () => {
    const list = [batch('A', 1, 1000, 'leader', 40), batch('B', 1, 1010, 'follower', 38)];
    const frame = buildFrame({
      columns: 120,
      rows: 12,
      now: 2000,
      intervalMs: 500,
      sweep: { probes: healthyProbes(), at: 1900 },
      sweepError: undefined,
      memory: emptyMemory(),
      timeline: timelineRows(list),
      shownEvents: 2,
      totalEvents: 2,
      filter: NO_TIMELINE_FILTER,
      viewport: LIVE,
      sourceLabel: 'event streams',
      sourceStates: new Map(),
      mode: 'normal',
      draft: '',
    });
    const lines = frame.lines.map((l) => l.map((s) => s.text).join('')).filter((l) => l.includes('replication.batch'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('* e3');
    expect(lines[0]).toContain('appended A*:40 B:38');
  });
});
