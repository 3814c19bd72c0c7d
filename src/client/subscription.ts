/**
 * A Subscribe stream that follows the leader (a ResumableStream whose target is
 * wherever the leader is). Any transient end (UNAVAILABLE,
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
import { describeError, toChatError } from './errors.js';
import { locateLeader, noteFailure, type LeaderContext } from './leader-calls.js';
import type { LeaderTarget } from './leader-tracker.js';
import { toChatMessage } from './mapping.js';
import { ResumableStream, type StreamEnd } from './resumable-stream.js';

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

export interface SubscriptionDeps extends LeaderContext {
  /** Metadata for each new stream (the current session token). */
  metadata(): grpc.Metadata;
}

/** Redirects followed at once since the last stream that opened (two replicas pointing at each other must not spin). */
const QUICK_REDIRECTS = 2;

export class ResilientSubscription implements Subscription {
  private readonly stream: ResumableStream<ChatEvent, LeaderTarget>;
  private quickRedirects = 0;
  private ended = false;

  constructor(
    private readonly deps: SubscriptionDeps,
    private readonly handlers: SubscriptionHandlers,
    afterMessageId: number,
    private readonly onClosed: (s: ResilientSubscription) => void,
  ) {
    this.stream = new ResumableStream<ChatEvent, LeaderTarget>(
      {
        name: 'a subscription',
        signal: deps.signal,
        backoff: { initialMs: 25, maxMs: 1_000, factor: 2 },
        openWait: { ms: deps.deadlineMs, onExpiry: 'abandon' },
        target: async () => (await locateLeader(deps)).target,
        targetFailed: (err) => deps.state.failed(err),
        open: (target, after) => deps.pool.chat(target.address).subscribe({ afterMessageId: after }, deps.metadata()),
        opened: (target) => {
          this.quickRedirects = 0;
          deps.state.connected(target);
          this.handlers.onOpen?.();
        },
        positionOf: (event) => (event.event?.$case === 'message' ? event.event.value.id : undefined),
        deliver: (event) => this.deliver(event),
        ended: (end, target) => {
          const error = this.classify(end);
          if (error.final) {
            this.finish(error.error);
            return 'stop';
          }
          return noteFailure(deps, target, error.error) && this.quickRedirects++ < QUICK_REDIRECTS ? 'now' : 'backoff';
        },
      },
      afterMessageId,
    );
    deps.signal.addEventListener('abort', () => this.close(), { once: true });
  }

  get lastMessageId(): number {
    return this.stream.position;
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.stream.close();
    this.onClosed(this);
  }

  private finish(error: ChatError): void {
    this.close();
    try {
      this.handlers.onEnd?.(error);
    } catch (err) {
      process.emitWarning(`a subscription onEnd handler threw: ${describeError(err)}`);
    }
  }

  private classify(end: StreamEnd): { final: true; error: ChatError } | { final: false; error: unknown } {
    if (end.kind === 'open-timeout') {
      return {
        final: false,
        error: new ChatError('DEADLINE_EXCEEDED', `the stream did not open within ${this.deps.deadlineMs} ms`),
      };
    }
    if (end.kind === 'open-failed') return { final: false, error: end.error };
    const status = end.status;
    if (status.code === grpc.status.OK) {
      return { final: false, error: new ChatError('UNAVAILABLE', 'the server ended the stream') };
    }
    const error = Object.assign(new Error(status.details), {
      code: status.code,
      details: status.details,
      metadata: status.metadata,
    });
    if (FINAL_CODES.has(status.code)) return { final: true, error: toChatError(error) };
    return { final: false, error };
  }

  private deliver(event: ChatEvent): void {
    const e = event.event;
    if (e?.$case === 'message') this.handlers.onMessage(toChatMessage(e.value));
    else if (e?.$case === 'deleted') this.handlers.onDeleted?.([...e.value.ids]);
    else if (e?.$case === 'presence') this.handlers.onPresence?.(e.value.username, e.value.online);
    else if (e?.$case === 'typing') this.handlers.onTyping?.(e.value.username);
  }
}
