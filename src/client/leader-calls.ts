/**
 * Calls that follow the leader: find it, send, and on UNAVAILABLE (or a
 * deadline, for calls safe to repeat) follow the redirect or search again,
 * with jittered exponential backoff, until the retry budget is spent.
 */
import type * as grpc from '@grpc/grpc-js';
import { ChatError } from './api.js';
import { Backoff, sleep } from './backoff.js';
import type { ChannelPool } from './channels.js';
import type { ConnectionStateTracker } from './connection-state.js';
import { closedError, isServiceError, isTransient, leaderHint, toChatError } from './errors.js';
import type { LeaderTarget, LeaderTracker } from './leader-tracker.js';

/** Redirects followed at once, before backing off (two replicas pointing at each other must not spin). */
const IMMEDIATE_REDIRECTS = 2;
/** The shortest deadline an attempt gets near the end of the budget. */
const MIN_ATTEMPT_MS = 200;

export interface LeaderContext {
  pool: ChannelPool;
  tracker: LeaderTracker;
  state: ConnectionStateTracker;
  /** Aborted when the client closes. */
  signal: AbortSignal;
  deadlineMs: number;
  retryBudgetMs: number;
}

/**
 * The leader to send to: the current one, or the result of a search. On no
 * result it updates the connection state and returns the reason.
 */
export async function locateLeader(
  ctx: LeaderContext,
): Promise<{ target: LeaderTarget } | { target: undefined; error: unknown }> {
  const known = ctx.tracker.leader();
  if (known) return { target: known };
  const found = await ctx.tracker.find();
  if (found.kind === 'leader') return { target: found.leader };
  if (found.kind === 'no-leader') {
    ctx.state.noLeader(found.waitingFor);
    const waiting = found.waitingFor.length > 0 ? `; waiting for ${found.waitingFor.join(', ')}` : '';
    return { target: undefined, error: new ChatError('UNAVAILABLE', `no replica leads at the moment${waiting}`) };
  }
  const error = new ChatError('UNAVAILABLE', `no replica could be reached (${found.error})`);
  ctx.state.failed(error);
  return { target: undefined, error };
}

/**
 * After a failed attempt against `target`: follows a redirect or forgets the
 * leader, and updates the connection state. Returns whether the next attempt
 * may go at once (a fresh redirect).
 */
export function noteFailure(ctx: LeaderContext, target: LeaderTarget, err: unknown): boolean {
  const hint = leaderHint(err);
  if (hint && hint.address !== target.address) {
    ctx.tracker.redirect(hint);
    return true;
  }
  ctx.tracker.forget(target.address);
  ctx.state.failed(err);
  return false;
}

export type Attempt<T> = (
  client: ReturnType<ChannelPool['chat']>,
  options: grpc.CallOptions,
  target: LeaderTarget,
) => Promise<T>;

/** An attempt on any of the leader's services; `C` is the service client `pick` returns. */
export type ServiceAttempt<C, T> = (client: C, options: grpc.CallOptions, target: LeaderTarget) => Promise<T>;

export interface CallOptions {
  idempotent: boolean;
  onTransient?: (err: unknown) => void;
}

/**
 * Runs `attempt` against the leader until it succeeds, fails for good, or the
 * retry budget runs out (then it rejects with the last transient failure).
 * `onTransient` sees every transient failure (e.g. to remember that a write
 * may have been applied).
 */
export function callLeader<T>(ctx: LeaderContext, attempt: Attempt<T>, options: CallOptions): Promise<T> {
  return callLeaderService(ctx, (pool, address) => pool.chat(address), attempt, options);
}

/** `callLeader` for another service of the leader (e.g. ClusterService): `pick` gives its client for an address. */
export async function callLeaderService<C, T>(
  ctx: LeaderContext,
  pick: (pool: ChannelPool, address: string) => C,
  attempt: ServiceAttempt<C, T>,
  options: CallOptions,
): Promise<T> {
  const budgetEnd = Date.now() + ctx.retryBudgetMs;
  const backoff = new Backoff();
  let lastError: unknown;
  let redirects = 0;
  for (;;) {
    if (ctx.signal.aborted) throw closedError();
    const located = await locateLeader(ctx).catch((err: unknown) => {
      if (ctx.signal.aborted) throw closedError();
      throw err;
    });
    let immediate = false;
    if (located.target) {
      const target = located.target;
      const attemptMs = Math.min(ctx.deadlineMs, Math.max(MIN_ATTEMPT_MS, budgetEnd - Date.now()));
      try {
        const result = await attempt(
          pick(ctx.pool, target.address),
          { deadline: new Date(Date.now() + attemptMs) },
          target,
        );
        ctx.state.connected(target);
        return result;
      } catch (err) {
        if (ctx.signal.aborted) throw closedError();
        if (!isTransient(err, options.idempotent)) {
          // The leader answered (with a refusal): the connection is fine.
          if (isServiceError(err)) ctx.state.connected(target);
          throw toChatError(err);
        }
        lastError = err;
        options.onTransient?.(err);
        immediate = noteFailure(ctx, target, err) && redirects++ < IMMEDIATE_REDIRECTS;
      }
    } else {
      lastError = located.error;
    }
    if (immediate) continue;
    const delay = backoff.next();
    if (Date.now() + delay >= budgetEnd) throw toChatError(lastError);
    // Someone awaits this call: the wait keeps the process alive (chat-ops would otherwise exit mid-retry, status 0).
    if (!(await sleep(delay, ctx.signal, true))) throw closedError();
  }
}
