/** The one resumable stream under chat subscriptions and cluster event watches, on fake gRPC streams. */

import type * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ResumableStream,
  type NextStep,
  type ResumableStreamSpec,
  type StreamEnd,
} from '../../src/client/resumable-stream.js';

/** A server stream the test drives: headers, events, a status. */
class FakeStream extends EventEmitter {
  cancelled = false;
  constructor(readonly after: number) {
    super();
  }
  cancel(): void {
    this.cancelled = true;
    this.end(1, 'Cancelled on client');
  }
  headers(): void {
    this.emit('metadata', {});
  }
  event(position: number): void {
    this.emit('data', { position });
  }
  end(code: number, details = ''): void {
    this.emit('status', { code, details, metadata: {} });
    this.emit('end');
  }
}

type Event = { position: number };

const aborts: AbortController[] = [];
afterEach(() => {
  for (const a of aborts.splice(0)) a.abort();
});

function harness(
  options: { ended?: (end: StreamEnd) => NextStep; openWait?: ResumableStreamSpec<Event, string>['openWait'] } = {},
) {
  const abort = new AbortController();
  aborts.push(abort);
  const streams: FakeStream[] = [];
  const delivered: number[] = [];
  const ends: StreamEnd[] = [];
  let opens = 0;
  const stream = new ResumableStream<Event, string>(
    {
      name: 'a test stream',
      signal: abort.signal,
      backoff: { initialMs: 1, maxMs: 2, factor: 2 },
      openWait: options.openWait ?? { ms: 5_000, onExpiry: 'abandon' },
      target: () => Promise.resolve('replica'),
      targetFailed: () => undefined,
      open: (_target, after) => {
        const s = new FakeStream(after);
        streams.push(s);
        return s as unknown as grpc.ClientReadableStream<Event>;
      },
      positionOf: (e) => e.position,
      deliver: (e) => delivered.push(e.position),
      opened: () => (opens += 1),
      ended: (end) => {
        ends.push(end);
        return options.ended ? options.ended(end) : 'backoff';
      },
    },
    10,
  );
  const nextStream = async (n: number) => {
    const deadline = Date.now() + 2000;
    while (streams.length < n) {
      if (Date.now() > deadline) throw new Error(`stream ${n} never opened`);
      await new Promise((r) => setTimeout(r, 2));
    }
    return streams[n - 1]!;
  };
  return { stream, streams, delivered, ends, opens: () => opens, nextStream };
}

describe('resumable stream', () => {
  it('resumes after the last position delivered and never delivers one twice or out of order', async () => {
    const h = harness();
    const first = await h.nextStream(1);
    expect(first.after).toBe(10);
    first.headers();
    for (const p of [11, 12, 12, 9, 13]) first.event(p);
    first.end(14, 'leader gone');
    const second = await h.nextStream(2);
    expect(second.after).toBe(13);
    second.headers();
    for (const p of [13, 14]) second.event(p);
    expect(h.delivered).toEqual([11, 12, 13, 14]);
    expect(h.stream.position).toBe(14);
    expect(h.opens()).toBe(2);
    expect(h.ends[0]).toMatchObject({ kind: 'status', status: { code: 14 } });
    h.stream.close();
  });

  it('stops for good when the end says so, and cancels the stream on close', async () => {
    const stopping = harness({ ended: () => 'stop' });
    (await stopping.nextStream(1)).end(16, 'logged out');
    await new Promise((r) => setTimeout(r, 30));
    expect(stopping.streams).toHaveLength(1);
    expect(stopping.stream.isClosed).toBe(true);

    const closing = harness();
    const open = await closing.nextStream(1);
    closing.stream.close();
    expect(open.cancelled).toBe(true);
    await new Promise((r) => setTimeout(r, 30));
    expect(closing.ends).toEqual([]);
  });

  it('abandons a stream that does not open in time, or counts it as open when told to', async () => {
    const abandoning = harness({ openWait: { ms: 20, onExpiry: 'abandon' } });
    const silent = await abandoning.nextStream(1);
    await abandoning.nextStream(2);
    expect(silent.cancelled).toBe(true);
    expect(abandoning.ends[0]).toEqual({ kind: 'open-timeout' });
    expect(abandoning.opens()).toBe(0);
    abandoning.stream.close();

    const assuming = harness({ openWait: { ms: 20, onExpiry: 'assume-open' } });
    const quiet = await assuming.nextStream(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(quiet.cancelled).toBe(false);
    expect(assuming.opens()).toBe(1);
    assuming.stream.close();
  });
});
