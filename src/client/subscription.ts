/**
 * A Subscribe stream that follows the leader. Any transient end (UNAVAILABLE,
 * a cancel by a stopping server, a network error, a stream that does not
 * open within the deadline) leads to a new search for the leader and a new
 * stream "after the last id delivered", so nothing is missed; ids at or below
 * that are dropped, so nothing is delivered twice, and ids come in order. A
 * final error (the session or account went away, a bad request) ends it and
 * is reported through `onEnd`.
 */
import * as grpc from '@grpc/grpc-js';
import type { ChatEvent } from '../gen/chat/v1/chat.js';
import { ChatError, type SubscriptionHandlers, type Subscription } from './api.js';
import { Backoff, sleep } from './backoff.js';
import { describeError, toChatError } from './errors.js';
import { locateLeader, noteFailure, type LeaderContext } from './leader-calls.js';
import type { LeaderTarget } from './leader-tracker.js';
import { toChatMessage } from './mapping.js';

/** Stream ends after which resubscribing cannot help. */
const FINAL_CODES = new Set<number>([
  grpc.status.UNAUTHENTICATED,
  grpc.status.PERMISSION_DENIED,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.ALREADY_EXISTS,
  grpc.status.OUT_OF_RANGE,
  grpc.status.UNIMPLEMENTED,
]);

type StreamEnd = { final: true; error: ChatError } | { final: false; error: unknown };

export interface SubscriptionDeps extends LeaderContext {
  /** Metadata for each new stream (the current session token). */
  metadata(): grpc.Metadata;
}

export class ResilientSubscription implements Subscription {
  private last: number;
  private call: grpc.ClientReadableStream<ChatEvent> | undefined;
  private readonly abort = new AbortController();
  private readonly backoff = new Backoff({ initialMs: 25, maxMs: 1_000, factor: 2 });
  private closed = false;
  /** Redirects followed at once since the last stream that opened (two replicas pointing at each other must not spin). */
  private quickRedirects = 0;

  constructor(
    private readonly deps: SubscriptionDeps,
    private readonly handlers: SubscriptionHandlers,
    afterMessageId: number,
    private readonly onClosed: (s: ResilientSubscription) => void,
  ) {
    this.last = Math.max(0, Math.floor(afterMessageId));
    deps.signal.addEventListener('abort', () => this.close(), { once: true });
    void this.run();
  }

  get lastMessageId(): number {
    return this.last;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.call?.cancel();
    this.call = undefined;
    this.onClosed(this);
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        const located = await locateLeader(this.deps);
        if (this.closed) return;
        if (located.target) {
          const end = await this.stream(located.target);
          if (this.closed) return;
          if (end.final) {
            this.finish(end.error);
            return;
          }
          if (noteFailure(this.deps, located.target, end.error) && this.quickRedirects++ < 2) continue;
        }
      } catch (err) {
        // Only a client closing under us gets here; anything else is retried like a network failure.
        if (this.closed) return;
        this.deps.state.failed(err);
      }
      if (!(await sleep(this.backoff.next(), this.abort.signal))) return;
    }
  }

  private finish(error: ChatError): void {
    this.close();
    try {
      this.handlers.onEnd?.(error);
    } catch (err) {
      process.emitWarning(`a subscription onEnd handler threw: ${describeError(err)}`);
    }
  }

  /** One stream, from opening to its end. */
  private stream(target: LeaderTarget): Promise<StreamEnd> {
    return new Promise<StreamEnd>((resolve) => {
      const client = this.deps.pool.chat(target.address);
      const call = client.subscribe({ afterMessageId: this.last }, this.deps.metadata());
      this.call = call;
      let status: grpc.StatusObject | undefined;
      let ended = false;
      let settled = false;
      let openTimedOut = false;
      const openTimer = setTimeout(() => {
        openTimedOut = true;
        call.cancel();
      }, this.deps.deadlineMs);
      openTimer.unref();

      const settle = () => {
        if (settled) return;
        settled = true;
        clearTimeout(openTimer);
        if (this.call === call) this.call = undefined;
        resolve(this.classify(status, openTimedOut));
      };

      call.on('metadata', () => {
        clearTimeout(openTimer);
        this.backoff.reset();
        this.quickRedirects = 0;
        this.deps.state.connected(target);
      });
      call.on('data', (event: ChatEvent) => this.deliver(event));
      // Every non-OK status is also emitted as 'error'; it is read from 'status'.
      call.on('error', () => undefined);
      call.on('status', (s: grpc.StatusObject) => {
        status = s;
        if (ended) settle();
      });
      call.on('end', () => {
        ended = true;
        if (status) settle();
      });
      call.on('close', () => {
        if (status) settle();
      });
    });
  }

  private classify(status: grpc.StatusObject | undefined, openTimedOut: boolean): StreamEnd {
    if (openTimedOut) {
      return { final: false, error: new ChatError('DEADLINE_EXCEEDED', `the stream did not open within ${this.deps.deadlineMs} ms`) };
    }
    if (!status || status.code === grpc.status.OK) {
      return { final: false, error: new ChatError('UNAVAILABLE', 'the server ended the stream') };
    }
    const error = Object.assign(new Error(status.details), { code: status.code, details: status.details, metadata: status.metadata });
    if (FINAL_CODES.has(status.code)) return { final: true, error: toChatError(error) };
    return { final: false, error };
  }

  private deliver(event: ChatEvent): void {
    if (this.closed) return;
    const e = event.event;
    try {
      if (e?.$case === 'message') {
        if (e.value.id <= this.last) return;
        this.last = e.value.id;
        this.handlers.onMessage(toChatMessage(e.value));
      } else if (e?.$case === 'deleted') {
        this.handlers.onDeleted?.([...e.value.ids]);
      }
    } catch (err) {
      process.emitWarning(`a subscription handler threw: ${describeError(err)}`);
    }
  }
}
