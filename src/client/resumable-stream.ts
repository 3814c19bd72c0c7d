/**
 * A server stream that outlives its connections: it opens a stream where
 * `target()` says (the leader, or one fixed replica), resumes "after" the last
 * position it delivered, drops events at or below that position (so nothing is
 * delivered twice and positions only grow), and on any end asks the caller
 * whether to stop, retry at once or back off. Chat subscriptions and cluster
 * event watches are both this loop with different targets and end rules.
 */
import * as grpc from '@grpc/grpc-js';
import { Backoff, sleep, type BackoffOptions } from './backoff.js';
import { describeError } from './errors.js';

/** How one stream ended. */
export type StreamEnd =
  /** The server (or the channel) ended it with this status. */
  | { kind: 'status'; status: grpc.StatusObject }
  /** It did not open within `openWait.ms` and was abandoned. */
  | { kind: 'open-timeout' }
  /** It could not even be started. */
  | { kind: 'open-failed'; error: unknown };

/** After an end: stop for good, open the next stream at once, or after a backoff delay. */
export type NextStep = 'stop' | 'now' | 'backoff';

export interface ResumableStreamSpec<Event, Target> {
  /** Aborted when the client closes: the stream stops with it. */
  signal: AbortSignal;
  backoff: BackoffOptions;
  /** Where the next stream goes; undefined when nowhere yet (the loop backs off and asks again). */
  target(): Promise<Target | undefined>;
  /** Opens one stream that resumes after `position`. */
  open(target: Target, position: number): grpc.ClientReadableStream<Event>;
  /** The position an event carries, or undefined for events without one (always delivered). */
  positionOf(event: Event): number | undefined;
  deliver(event: Event): void;
  /** The stream is open (headers arrived, an event arrived, or `openWait` expired with `assume-open`). */
  opened(target: Target): void;
  /**
   * How long a stream may take to open. `abandon`: cancel it and end with
   * `open-timeout`; `assume-open`: count it as open (for servers that send no
   * headers before the first event).
   */
  openWait: { ms: number; onExpiry: 'abandon' | 'assume-open' };
  /** What to do after a stream ended (not called for ends caused by `close()`). */
  ended(end: StreamEnd, target: Target): NextStep;
  /** `target()` threw (anything but the client closing): reported, then the loop backs off. */
  targetFailed(err: unknown): void;
  /** What the handlers are called in warnings when they throw, e.g. "a subscription". */
  name: string;
}

export class ResumableStream<Event, Target> {
  private last: number;
  private call: grpc.ClientReadableStream<Event> | undefined;
  private readonly abort = new AbortController();
  private readonly backoff: Backoff;
  private closed = false;

  constructor(
    private readonly spec: ResumableStreamSpec<Event, Target>,
    after: number,
  ) {
    this.last = Math.max(0, Math.floor(after));
    this.backoff = new Backoff(spec.backoff);
    spec.signal.addEventListener('abort', () => this.close(), { once: true });
    void this.run();
  }

  /** The highest position delivered so far (or the one it started after). */
  get position(): number {
    return this.last;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.call?.cancel();
    this.call = undefined;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      let next: NextStep = 'backoff';
      try {
        const target = await this.spec.target();
        if (this.closed) return;
        if (target !== undefined) {
          const end = await this.stream(target);
          if (this.closed) return;
          next = this.spec.ended(end, target);
        }
      } catch (err) {
        if (this.closed) return;
        this.spec.targetFailed(err);
      }
      if (next === 'stop') {
        this.close();
        return;
      }
      if (next === 'now') continue;
      if (!(await sleep(this.backoff.next(), this.abort.signal))) return;
    }
  }

  /** One stream, from opening to its end. */
  private stream(target: Target): Promise<StreamEnd> {
    return new Promise<StreamEnd>((resolve) => {
      let call: grpc.ClientReadableStream<Event>;
      try {
        call = this.spec.open(target, this.last);
      } catch (error) {
        resolve({ kind: 'open-failed', error });
        return;
      }
      this.call = call;
      let status: grpc.StatusObject | undefined;
      let drained = false;
      let settled = false;
      let open = false;
      let openTimedOut = false;

      const markOpen = () => {
        if (open) return;
        open = true;
        clearTimeout(openTimer);
        this.backoff.reset();
        this.spec.opened(target);
      };
      const openTimer = setTimeout(() => {
        if (this.spec.openWait.onExpiry === 'assume-open') {
          markOpen();
          return;
        }
        openTimedOut = true;
        call.cancel();
      }, this.spec.openWait.ms);
      openTimer.unref();

      // Settles once the status is known and every event before it was delivered.
      const settle = () => {
        if (settled || !status || !drained) return;
        settled = true;
        clearTimeout(openTimer);
        if (this.call === call) this.call = undefined;
        resolve(openTimedOut ? { kind: 'open-timeout' } : { kind: 'status', status });
      };

      call.on('metadata', markOpen);
      call.on('data', (event: Event) => {
        markOpen();
        this.deliver(event);
      });
      // Every non-OK status is also emitted as 'error'; it is read from 'status'.
      call.on('error', () => undefined);
      call.on('status', (s: grpc.StatusObject) => {
        status = s;
        settle();
      });
      const onDrained = () => {
        drained = true;
        settle();
      };
      call.on('end', onDrained);
      call.on('close', onDrained);
    });
  }

  private deliver(event: Event): void {
    if (this.closed) return;
    const position = this.spec.positionOf(event);
    if (position !== undefined) {
      if (position <= this.last) return;
      this.last = position;
    }
    try {
      this.spec.deliver(event);
    } catch (err) {
      process.emitWarning(`${this.spec.name} handler threw: ${describeError(err)}`);
    }
  }
}
