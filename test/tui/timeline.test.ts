import { describe, expect, it } from 'vitest';
import type { ChatMessage, LeaderView, ReplicaProbe, ReplicaStatusView } from '../../src/client/api.js';
import { formatAgo, formatDay } from '../../src/tui/state/format.js';
import { listWindow, mainLayout } from '../../src/tui/state/layout.js';
import { FOLLOW, resolveScroll, scrollBy, scrollToShow } from '../../src/tui/state/scroll.js';
import { clusterRows, clusterSummary, connectionStatus } from '../../src/tui/state/status.js';
import { textWidth } from '../../src/terminal/text.js';
import { buildTimeline, messageSpans, refKey, type MessageRow } from '../../src/tui/state/timeline.js';

function at(day: number, hour: number, minute = 0): number {
  return new Date(2025, 5, day, hour, minute).getTime();
}
function msg(id: number, sender: string, text: string, sentAt: number): ChatMessage {
  return {
    id,
    sender,
    recipient: sender === 'alice' ? 'bob' : 'alice',
    text,
    sentAt,
    read: true,
    senderDeleted: false,
  };
}

describe('timeline', () => {
  const now = at(5, 12);
  const messages = [
    msg(1, 'bob', 'first day', at(3, 9, 5)),
    msg(2, 'alice', 'still the first day', at(3, 23, 59)),
    msg(3, 'bob', 'today', at(5, 0, 1)),
  ];

  it('puts a day separator before the first message of each local day', () => {
    const rows = buildTimeline({ messages, outgoing: [], me: 'alice', peer: 'bob', width: 60, gutter: 0, now });
    expect(rows.map((r) => (r.kind === 'day' ? `[${r.label}]` : r.kind === 'message' ? r.text : '!'))).toEqual([
      '[Tue 3 Jun 2025]',
      'first day',
      'still the first day',
      '[Today]',
      'today',
    ]);
    const first = rows[1] as MessageRow;
    expect(first.time).toBe('09:05');
    expect(first.own).toBe(false);
    expect((rows[2] as MessageRow).own).toBe(true);
    expect((rows[2] as MessageRow).delivery).toBe('sent');
  });

  it('wraps long messages to the pane width; only the first line shows time and sender', () => {
    const long = msg(4, 'bob', 'word '.repeat(40).trim(), at(5, 11));
    const width = 40;
    const rows = buildTimeline({
      messages: [long],
      outgoing: [],
      me: 'alice',
      peer: 'bob',
      width,
      gutter: 0,
      now,
    }).filter((r): r is MessageRow => r.kind === 'message');
    expect(rows.length).toBeGreaterThan(3);
    expect(rows[0]!.sender).toBe('bob');
    expect(rows.slice(1).every((r) => r.time === '' && r.sender === '')).toBe(true);
    // time + sender + text + delivery mark fit the width.
    for (const r of rows) expect(6 + 6 + textWidth(r.text) + 2).toBeLessThanOrEqual(width);
    expect(rows.map((r) => r.text).join(' ')).toBe(long.text);
  });

  it('shows sending and failed messages after the stored ones, with the reason of a failure', () => {
    const rows = buildTimeline({
      messages: messages.slice(2),
      outgoing: [
        { key: 'a', peer: 'bob', text: 'in flight', createdAt: at(5, 11, 58), state: 'sending' },
        { key: 'b', peer: 'bob', text: 'lost', createdAt: at(5, 11, 59), state: 'failed', error: 'no leader' },
      ],
      me: 'alice',
      peer: 'bob',
      width: 60,
      gutter: 0,
      now,
    });
    const from = rows.findIndex((r) => r.kind === 'message' && r.text === 'in flight');
    expect(rows[from]).toMatchObject({ kind: 'message', text: 'in flight', delivery: 'sending' });
    expect(rows[from + 1]).toMatchObject({ kind: 'message', text: 'lost', delivery: 'failed' });
    // The reason and what can be done, wrapped over as many rows as it takes, never cut.
    const failure = rows.slice(from + 2);
    expect(failure.every((r) => r.kind === 'failure')).toBe(true);
    expect(failure.map((r) => (r.kind === 'failure' ? r.text : '')).join(' ')).toBe(
      'failed: no leader — Ctrl-R retries · v then e edits, d discards',
    );
    // Selection moves over every message, the failed one (with its reason) included.
    expect(messageSpans(rows).map((s) => [refKey(s.ref), s.failed])).toEqual([
      ['m3', false],
      ['oa', false],
      ['ob', true],
    ]);
  });
});

describe('scrolling', () => {
  const keys = Array.from({ length: 50 }, (_, i) => `r${i}`);

  it('follows the newest rows until scrolled up, then stays put while rows arrive', () => {
    expect(resolveScroll(keys, 10, FOLLOW)).toEqual({ start: 40, end: 50, above: 40, below: 0 });
    const up = scrollBy(keys, 10, FOLLOW, -9);
    expect(resolveScroll(keys, 10, up)).toMatchObject({ start: 31, end: 41, below: 9 });
    const grown = [...keys, 'r50', 'r51'];
    expect(resolveScroll(grown, 10, up).start).toBe(31);
    // Older history loaded above: still the same rows on screen.
    const prepended = ['o1', 'o2', 'o3', ...grown];
    expect(prepended[resolveScroll(prepended, 10, up).start]).toBe('r31');
    // Scrolling back down to the bottom follows again.
    expect(scrollBy(grown, 10, up, 100)).toEqual(FOLLOW);
    expect(resolveScroll(keys, 10, scrollBy(keys, 10, up, -1000)).start).toBe(0);
  });

  it('never shows more rows than the height, and shows all when they fit', () => {
    expect(resolveScroll(keys.slice(0, 4), 10, FOLLOW)).toEqual({ start: 0, end: 4, above: 0, below: 0 });
    const w = resolveScroll(keys, 7, scrollBy(keys, 7, FOLLOW, -20));
    expect(w.end - w.start).toBe(7);
  });

  it('moves as little as needed to show a message', () => {
    const s = scrollToShow(keys, 10, FOLLOW, 5, 6);
    expect(resolveScroll(keys, 10, s)).toMatchObject({ start: 5 });
    expect(scrollToShow(keys, 10, s, 8, 9)).toBe(s);
    expect(listWindow(30, 5, 12, 0)).toEqual({ start: 8, end: 13 });
    expect(listWindow(3, 5, 2)).toEqual({ start: 0, end: 3 });
  });
});

describe('layout', () => {
  it('fits 80x24 with a frame one row shorter than the terminal', () => {
    const l = mainLayout(80, 24);
    expect(l.height).toBe(23);
    expect(l.listWidth + 1 + l.chatWidth).toBe(80);
    expect(l.messagesHeight + 3 + 2).toBe(23);
  });

  it('grows the compose box with its text and the footer with a notice, leaving the chat five rows', () => {
    const l = mainLayout(80, 24, { composeRows: 4, footerRows: 2 });
    expect(l.composeRows).toBe(4);
    expect(l.footerRows).toBe(2);
    expect(1 + l.messagesHeight + 2 + l.composeRows + l.footerRows).toBe(23);
    const huge = mainLayout(80, 24, { composeRows: 50, footerRows: 9 });
    expect(huge.composeRows).toBeLessThanOrEqual(8);
    expect(huge.footerRows).toBe(3);
    expect(huge.messagesHeight).toBeGreaterThanOrEqual(5);
  });

  it('gives the cluster panel its rows but leaves the chat at least five', () => {
    expect(mainLayout(80, 24, { clusterReplicas: 3 }).clusterHeight).toBe(5);
    expect(mainLayout(80, 24, { clusterReplicas: 3 }).messagesHeight).toBe(13);
    const short = mainLayout(80, 12, { clusterReplicas: 3 });
    expect(short.messagesHeight).toBeGreaterThanOrEqual(5);
    expect(short.clusterHeight + short.messagesHeight + 3 + 2).toBeLessThanOrEqual(11);
  });
});

function status(
  id: string,
  role: ReplicaStatusView['role'],
  extra: Partial<ReplicaStatusView> = {},
): ReplicaStatusView {
  return {
    id,
    address: `127.0.0.1:${id.charCodeAt(0)}`,
    role,
    epoch: 4,
    leaderId: 'B',
    lastIndex: 10,
    lastEpoch: 4,
    commitIndex: 10,
    appliedIndex: 10,
    logStartIndex: 1,
    inSync: ['A', 'B'],
    caughtUp: true,
    lastHeartbeatMsAgo: 5,
    uptimeMs: 1000,
    waitingFor: [],
    waitingReason: '',
    peers: [],
    connectedClients: 0,
    openStreams: 0,
    writesPerSecond: 0,
    dataSizeBytes: 0,
    mode: 'isr',
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
    ...extra,
  };
}

describe('status texts', () => {
  it('says where the client is connected, how long ago it lost contact, whom it waits for', () => {
    const now = 100_000;
    expect(connectionStatus({ kind: 'connected', replicaId: 'B', address: 'h:2', epoch: 3 }, now).text).toBe(
      'connected to B (h:2)',
    );
    expect(connectionStatus({ kind: 'unreachable', since: now - 25_000, lastError: 'x' }, now).text).toBe(
      'cannot reach the servers (trying for 25 s)',
    );
    expect(connectionStatus({ kind: 'reconnecting', since: now - 3200, lastError: 'x' }, now).text).toBe(
      'reconnecting, last contact 3 s ago',
    );
    expect(connectionStatus({ kind: 'no-leader', since: now, waitingFor: ['B'] }, now).text).toContain(
      'no leader — waiting for B',
    );
    expect(formatAgo(125_000)).toBe('2 min');
    expect(formatDay(at(4, 8), at(5, 1))).toBe('Yesterday');
  });

  it('lists each replica with role, epoch, up or down, and lag behind the leader', () => {
    const members = ['A', 'B', 'C'].map((id) => ({
      id,
      address: `127.0.0.1:${id.charCodeAt(0)}`,
      learner: false,
      inSync: true,
    }));
    const leader = status('B', 'leader', {
      members,
      peers: [
        {
          id: 'A',
          address: '127.0.0.1:65',
          matchIndex: 7,
          lagEntries: 3,
          lastAckMsAgo: 10,
          inSync: true,
          state: 'replicating',
          learner: false,
          behindMs: 0,
          dataLost: false,
        },
      ],
    });
    const probes: ReplicaProbe[] = [
      { address: '127.0.0.1:65', up: true, status: status('A', 'follower', { appliedIndex: 7 }), rttMs: 1.4 },
      { address: '127.0.0.1:66', up: true, status: leader, rttMs: 0.6 },
      {
        address: '127.0.0.1:67',
        up: false,
        error: '14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:67',
      },
    ];
    const view: LeaderView = {
      leaderId: 'B',
      leaderAddress: '127.0.0.1:66',
      epoch: 4,
      replicas: [{ id: 'C', address: '127.0.0.1:67', learner: false }],
    };
    const rows = clusterRows(probes, view);
    expect(rows.map((r) => [r.id, r.role, r.up, r.lag])).toEqual([
      ['A', 'follower', true, '3'],
      ['B', 'leader', true, '-'],
      ['C', 'down', false, ''],
    ]);
    expect(rows[2]!.note).toBe('unreachable');
    // All down: the ids seen before still name the rows.
    const down: ReplicaProbe[] = probes.map((p) => ({
      address: p.address,
      up: false,
      error: '4 DEADLINE_EXCEEDED: Deadline exceeded',
    }));
    const known = new Map(rows.map((r) => [r.address, r.id]));
    expect(clusterRows(down, undefined, known).map((r) => [r.id, r.note])).toEqual([
      ['A', 'no answer in time'],
      ['B', 'no answer in time'],
      ['C', 'no answer in time'],
    ]);
    expect(clusterSummary(down, undefined).text).toBe('no replica answers · 0/3 up');
    expect(clusterSummary(probes, view).text).toBe('leader B · epoch 4 · 2/3 up');
    const waiting: ReplicaProbe[] = [
      { address: 'a', up: true, status: status('A', 'follower', { waitingFor: ['B'] }), rttMs: 1 },
      { address: 'b', up: false, error: 'down' },
    ];
    expect(clusterSummary(waiting, undefined).text).toBe('no leader — waiting for B · 1/2 up');
  });
});
