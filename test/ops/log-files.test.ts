import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterEventView } from '../../src/client/api.js';
import { runLogs } from '../../src/ops/commands/logs.js';
import { LineSplitter, parseLogLine, planRead } from '../../src/ops/model/log-line.js';
import { LogFileEventSource, LogFileReader, replicaFromPath } from '../../src/ops/sources/log-files.js';
import { waitFor } from './wait.js';

const WON =
  '{"level":30,"time":1732350000000,"pid":42,"hostname":"h","replica":"A","event":"election.won","epoch":3,"msg":"A won the election for epoch 3","inSync":["A","B"],"votes":2}';

function line(over: Record<string, unknown>): string {
  return JSON.stringify({
    level: 30,
    time: 1732350000000,
    replica: 'B',
    event: 'isr.shrink',
    epoch: 4,
    msg: 'B removes C',
    ...over,
  });
}

describe('log lines', () => {
  it('reads an event line: replica, kind, epoch, message, and the other fields as details', () => {
    expect(parseLogLine(WON, 7, 'file')).toEqual({
      seq: 7,
      timeMs: 1732350000000,
      replicaId: 'A',
      kind: 'election.won',
      epoch: 3,
      message: 'A won the election for epoch 3',
      details: { inSync: ['A', 'B'], votes: 2 },
    });
  });

  it('ignores lines without an event field, and lines that are not JSON objects', () => {
    expect(parseLogLine('{"level":30,"time":1,"msg":"listening"}', 1, 'A')).toBeUndefined();
    expect(parseLogLine('not json at all', 1, 'A')).toBeUndefined();
    expect(parseLogLine('{"event": "x.y", "broken"', 1, 'A')).toBeUndefined();
    expect(parseLogLine('["event"]', 1, 'A')).toBeUndefined();
    expect(parseLogLine('', 1, 'A')).toBeUndefined();
  });

  it('names the replica after the file when the line does not', () => {
    const e = parseLogLine(
      '{"level":30,"time":5,"event":"server.stopping","signal":"SIGTERM","msg":"received SIGTERM; stopping"}',
      1,
      replicaFromPath('/var/log/chat/C.log'),
    );
    expect(e).toMatchObject({ replicaId: 'C', kind: 'server.stopping', epoch: 0, details: { signal: 'SIGTERM' } });
  });

  it('hands out complete lines only, keeping a partial last line for the next chunk', () => {
    const s = new LineSplitter();
    expect(s.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
    expect(s.push(':2}\r\n\n')).toEqual(['{"b":2}']);
    expect(s.push('')).toEqual([]);
  });

  it('plans reads from the last offset, and from the start after truncation or rotation', () => {
    expect(planRead({ ino: undefined, offset: 0 }, { ino: 5, size: 100 })).toEqual({
      action: 'read',
      from: 0,
      to: 100,
      restart: false,
    });
    expect(planRead({ ino: 5, offset: 100 }, { ino: 5, size: 100 })).toEqual({ action: 'none' });
    expect(planRead({ ino: 5, offset: 100 }, { ino: 5, size: 150 })).toEqual({
      action: 'read',
      from: 100,
      to: 150,
      restart: false,
    });
    expect(planRead({ ino: 5, offset: 100 }, { ino: 5, size: 40 })).toMatchObject({
      action: 'read',
      from: 0,
      to: 40,
      restart: true,
      reason: 'truncated',
    });
    expect(planRead({ ino: 5, offset: 100 }, { ino: 6, size: 300 })).toMatchObject({
      action: 'read',
      from: 0,
      to: 300,
      restart: true,
      reason: 'rotated',
    });
    expect(planRead({ ino: 5, offset: 100 }, { ino: 5, size: 150 }, false)).toMatchObject({
      action: 'read',
      from: 0,
      to: 150,
      restart: true,
      reason: 'truncated',
    });
  });
});

describe('following log files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chat-ops-logs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads appended lines, waits for a line still being written, and starts over after truncation and rotation', async () => {
    const path = join(dir, 'B.log');
    writeFileSync(path, `${WON}\n{"level":30,"msg":"no event"}\n`);
    const reader = new LogFileReader(path);
    expect((await reader.readMore()).events.map((e) => e.kind)).toEqual(['election.won']);
    expect((await reader.readMore()).events).toEqual([]);

    const next = line({ event: 'isr.shrink' });
    appendFileSync(path, next.slice(0, 20));
    expect((await reader.readMore()).events).toEqual([]);
    appendFileSync(path, `${next.slice(20)}\n`);
    expect((await reader.readMore()).events.map((e) => e.kind)).toEqual(['isr.shrink']);

    truncateSync(path, 0);
    appendFileSync(path, `${line({ event: 'catchup.done' })}\n`);
    const afterTruncate = await reader.readMore();
    expect(afterTruncate.restarted).toBe('truncated');
    expect(afterTruncate.events.map((e) => e.kind)).toEqual(['catchup.done']);

    // Truncated and written again past the old size between two looks.
    const offsetBefore = readFileSync(path).length;
    truncateSync(path, 0);
    appendFileSync(path, `${line({ event: 'isr.expand', msg: 'x'.repeat(offsetBefore) })}\n`);
    const rewritten = await reader.readMore();
    expect(rewritten.restarted).toBe('truncated');
    expect(rewritten.events.map((e) => e.kind)).toEqual(['isr.expand']);

    renameSync(path, `${path}.1`);
    writeFileSync(path, `${line({ event: 'snapshot.sent' })}\n${line({ event: 'snapshot.installed' })}\n`);
    const afterRotate = await reader.readMore();
    expect(afterRotate.restarted).toBe('rotated');
    expect(afterRotate.events.map((e) => e.kind)).toEqual(['snapshot.sent', 'snapshot.installed']);
  });

  it('delivers lines appended to several files as they come, and reports a missing file', async () => {
    const a = join(dir, 'A.log');
    const b = join(dir, 'B.log');
    writeFileSync(a, `${WON}\n`);
    const got: ClusterEventView[] = [];
    const states = new Map<string, string>();
    const stop = new LogFileEventSource([a, b], { pollMs: 100 }).start({
      onEvents: (events) => got.push(...events),
      onSourceState: (name, s) => states.set(name, s.up ? 'up' : (s.detail ?? 'down')),
    });
    try {
      await waitFor('the existing line', () => got.length === 1 && states.get(b) === 'missing');
      appendFileSync(a, `${line({ replica: 'A', event: 'isr.expand' })}\n`);
      writeFileSync(b, `${line({ event: 'replica.started' })}\n`);
      await waitFor('the appended lines', () => got.length === 3, 5_000);
      expect(got.map((e) => `${e.replicaId} ${e.kind}`).sort()).toEqual([
        'A election.won',
        'A isr.expand',
        'B replica.started',
      ]);
      expect(states.get(b)).toBe('up');
    } finally {
      stop();
    }
  });
});

describe('chat-ops logs --json', () => {
  it('prints one JSON object per event and line, filtered like the readable lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat-logs-json-'));
    try {
      const path = join(dir, 'A.log');
      writeFileSync(
        path,
        `${WON}\n{"level":30,"msg":"no event"}\n${line({ replica: 'A', event: 'isr.shrink', time: 1732350001000, removed: ['C'] })}\n`,
      );
      let out = '';
      const code = await runLogs(
        undefined,
        { out: (t) => void (out += t), err: () => undefined, columns: 80 },
        { logFile: [path], kind: ['isr'], json: true },
      );
      expect(code).toBe(0);
      const lines = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toEqual([
        {
          time: '2024-11-23T08:20:01.000Z',
          timeMs: 1732350001000,
          replica: 'A',
          kind: 'isr.shrink',
          epoch: 4,
          message: 'B removes C',
          details: { removed: ['C'] },
          seq: 2,
        },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
