/**
 * The chat client every program uses: finds the leader, retries transient
 * failures within the retry budget (writes reuse one idempotency key, so a
 * retried write is applied once), keeps the session token, reports the
 * connection for a status bar, and runs subscriptions that survive failovers.
 *
 * Call `close()` when done: while the cluster is unreachable the client keeps
 * probing for a leader in the background.
 */
import * as grpc from '@grpc/grpc-js';
// Idempotency keys are UUID v7, which start with the time: the server keeps each key in an index per
// user, where time-ordered keys land at the end of the user's range rather than anywhere in it (about
// half the pages written per message at large apply batches; bench/write-path-cpu.ts --compare-keys).
import { v7 as newIdempotencyKey } from 'uuid';
import type {
  CreateAccountResponse,
  DeleteAccountResponse,
  DeleteMessagesResponse,
  FetchUnreadResponse,
  GetHistoryResponse,
  ListAccountsResponse,
  ListConversationsResponse,
  LoginResponse,
  LogoutResponse,
  MarkReadResponse,
  NotifyTypingResponse,
  SendMessageResponse,
} from '../gen/chat/v1/chat.js';
import {
  ChatError,
  type AccountPage,
  type ChatApi,
  type ChatMessage,
  type ClientOptions,
  type ConnectionState,
  type ConversationSummary,
  type LoginResult,
  type Subscription,
  type SubscriptionHandlers,
} from './api.js';
import { Backoff, sleep } from './backoff.js';
import { ChannelPool } from './channels.js';
import { ConnectionStateTracker } from './connection-state.js';
import { channelCredentials } from './credentials.js';
import { closedError, describeError, leaderHint } from './errors.js';
import { callLeader, type Attempt, type LeaderContext } from './leader-calls.js';
import { LeaderTracker } from './leader-tracker.js';
import { toChatMessage, toConversation } from './mapping.js';
import { unary } from './rpc.js';
import { ResilientSubscription } from './subscription.js';

export const DEFAULT_DEADLINE_MS = 3_000;
export const DEFAULT_RETRY_BUDGET_MS = 15_000;
/** How long a typing notice is retried. */
const TYPING_BUDGET_MS = 2_000;
/** FindLeader and GetStatus probes never wait longer than this. */
export const PROBE_DEADLINE_MS = 1_500;

export function resolveTimings(options: ClientOptions): { deadlineMs: number; retryBudgetMs: number } {
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const retryBudgetMs = options.retryBudgetMs ?? DEFAULT_RETRY_BUDGET_MS;
  if (!(deadlineMs > 0)) throw new Error(`deadlineMs must be positive (got ${deadlineMs})`);
  if (!(retryBudgetMs >= 0)) throw new Error(`retryBudgetMs must be 0 or more (got ${retryBudgetMs})`);
  return { deadlineMs, retryBudgetMs };
}

export class ChatClient implements ChatApi {
  private readonly pool: ChannelPool;
  private readonly tracker: LeaderTracker;
  private readonly state = new ConnectionStateTracker();
  private readonly abort = new AbortController();
  private readonly ctx: LeaderContext;
  private readonly subscriptions = new Set<ResilientSubscription>();
  private token: string | undefined;
  private user: string | undefined;
  private monitoring = false;

  constructor(options: ClientOptions) {
    const { deadlineMs, retryBudgetMs } = resolveTimings(options);
    this.pool = new ChannelPool(channelCredentials(options.tls), options.ownConnection);
    this.tracker = new LeaderTracker(options.servers, this.pool, Math.min(deadlineMs, PROBE_DEADLINE_MS));
    this.ctx = {
      pool: this.pool,
      tracker: this.tracker,
      state: this.state,
      signal: this.abort.signal,
      deadlineMs,
      retryBudgetMs,
    };
    this.token = options.token;
    this.state.onChange((s) => {
      if (s.kind === 'reconnecting' || s.kind === 'unreachable' || s.kind === 'no-leader') this.monitor();
    });
    this.monitor();
  }

  get username(): string | undefined {
    return this.user;
  }

  /** The session token of the logged-in user (to resume the session later via `ClientOptions.token`). */
  get sessionToken(): string | undefined {
    return this.token;
  }

  /** Every replica address known: the configured ones plus those learned from the cluster. */
  knownAddresses(): string[] {
    return this.tracker.addresses();
  }

  connection(): ConnectionState {
    return this.state.current();
  }

  onConnectionChange(listener: (state: ConnectionState) => void): () => void {
    return this.state.onChange(listener);
  }

  async createAccount(username: string, password: string): Promise<void> {
    const idempotencyKey = newIdempotencyKey();
    await this.call<CreateAccountResponse>((c, o) =>
      unary((cb) => c.createAccount({ username, password, idempotencyKey }, this.metadata(), o, cb)),
    );
  }

  async login(username: string, password: string): Promise<LoginResult> {
    const idempotencyKey = newIdempotencyKey();
    const r = await this.call<LoginResponse>((c, o) =>
      unary((cb) => c.login({ username, password, idempotencyKey }, new grpc.Metadata(), o, cb)),
    );
    this.token = r.token;
    this.user = r.username;
    return { username: r.username, token: r.token, unreadCount: r.unreadCount };
  }

  /** Ends the session on the server (a session that is already gone counts as ended) and forgets it here. */
  async logout(): Promise<void> {
    if (this.token === undefined) {
      this.user = undefined;
      return;
    }
    try {
      await this.call<LogoutResponse>((c, o) => unary((cb) => c.logout({}, this.metadata(), o, cb)));
    } catch (err) {
      if (!(err instanceof ChatError && err.code === 'UNAUTHENTICATED')) throw err;
    } finally {
      this.token = undefined;
      this.user = undefined;
    }
  }

  async listAccounts(options: { pattern?: string; pageSize?: number; pageToken?: string } = {}): Promise<AccountPage> {
    const request = {
      pattern: options.pattern ?? '',
      pageSize: options.pageSize ?? 0,
      pageToken: options.pageToken ?? '',
    };
    const r = await this.call<ListAccountsResponse>((c, o) =>
      unary((cb) => c.listAccounts(request, this.metadata(), o, cb)),
    );
    return {
      accounts: r.accounts.map((a) => ({ username: a.username, online: a.online })),
      nextPageToken: r.nextPageToken === '' ? undefined : r.nextPageToken,
    };
  }

  async sendMessage(recipient: string, text: string, options: { idempotencyKey?: string } = {}): Promise<ChatMessage> {
    const idempotencyKey = options.idempotencyKey ?? newIdempotencyKey();
    const r = await this.call<SendMessageResponse>((c, o) =>
      unary((cb) => c.sendMessage({ recipient, text, idempotencyKey }, this.metadata(), o, cb)),
    );
    if (!r.message) throw new ChatError('INTERNAL', 'the server answered without the stored message');
    return toChatMessage(r.message);
  }

  subscribe(handlers: SubscriptionHandlers, options: { afterMessageId?: number } = {}): Subscription {
    if (this.abort.signal.aborted) throw closedError();
    const sub = new ResilientSubscription(
      { ...this.ctx, metadata: () => this.metadata() },
      handlers,
      options.afterMessageId ?? 0,
      (s) => this.subscriptions.delete(s),
    );
    this.subscriptions.add(sub);
    return sub;
  }

  async fetchUnread(limit: number): Promise<{ messages: ChatMessage[]; remaining: number }> {
    const idempotencyKey = newIdempotencyKey();
    const r = await this.call<FetchUnreadResponse>((c, o) =>
      unary((cb) => c.fetchUnread({ limit, idempotencyKey }, this.metadata(), o, cb)),
    );
    return { messages: r.messages.map(toChatMessage), remaining: r.remaining };
  }

  async listConversations(): Promise<ConversationSummary[]> {
    const r = await this.call<ListConversationsResponse>((c, o) =>
      unary((cb) => c.listConversations({}, this.metadata(), o, cb)),
    );
    return r.conversations.map(toConversation);
  }

  async getHistory(
    peer: string,
    options: { beforeId?: number; limit?: number } = {},
  ): Promise<{ messages: ChatMessage[]; hasMore: boolean }> {
    const request = { peer, beforeId: options.beforeId ?? 0, limit: options.limit ?? 0 };
    const r = await this.call<GetHistoryResponse>((c, o) =>
      unary((cb) => c.getHistory(request, this.metadata(), o, cb)),
    );
    return { messages: r.messages.map(toChatMessage), hasMore: r.hasMore };
  }

  async markRead(peer: string, upToId: number): Promise<number> {
    const idempotencyKey = newIdempotencyKey();
    const r = await this.call<MarkReadResponse>((c, o) =>
      unary((cb) => c.markRead({ peer, upToId, idempotencyKey }, this.metadata(), o, cb)),
    );
    return r.marked;
  }

  async deleteMessages(ids: number[]): Promise<number[]> {
    const idempotencyKey = newIdempotencyKey();
    const r = await this.call<DeleteMessagesResponse>((c, o) =>
      unary((cb) => c.deleteMessages({ ids, idempotencyKey }, this.metadata(), o, cb)),
    );
    return r.deletedIds;
  }

  /**
   * Deletes the account after the server checks the password. The session
   * goes with the account, so when an earlier attempt may have gone through
   * (it timed out, or the leader failed mid-commit) and a retry is refused as
   * unauthenticated, the client checks whether its session still exists: if
   * not, the deletion went through.
   */
  async deleteAccount(password: string): Promise<void> {
    const idempotencyKey = newIdempotencyKey();
    let mayHaveApplied = false;
    try {
      await this.call<DeleteAccountResponse>(
        (c, o) => unary((cb) => c.deleteAccount({ password, idempotencyKey }, this.metadata(), o, cb)),
        (err) => {
          // A refusal that names the leader happened before anything was submitted.
          if (leaderHint(err) === undefined) mayHaveApplied = true;
        },
      );
    } catch (err) {
      if (!(
        mayHaveApplied &&
        err instanceof ChatError &&
        err.code === 'UNAUTHENTICATED' &&
        !(await this.sessionAlive())
      ))
        throw err;
    }
    this.token = undefined;
    this.user = undefined;
  }

  /** Tried for TYPING_BUDGET_MS at most: a typing notice later than that says nothing true. */
  async notifyTyping(peer: string): Promise<void> {
    if (this.abort.signal.aborted) throw closedError();
    const ctx = { ...this.ctx, retryBudgetMs: Math.min(this.ctx.retryBudgetMs, TYPING_BUDGET_MS) };
    await callLeader(
      ctx,
      (c, o) => unary<NotifyTypingResponse>((cb) => c.notifyTyping({ peer }, this.metadata(), o, cb)),
      { idempotent: true },
    );
  }

  close(): void {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    for (const s of [...this.subscriptions]) s.close();
    this.state.closed();
    this.pool.close();
  }

  // ------------------------------------------------------------ internals

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token !== undefined) md.set('authorization', `Bearer ${this.token}`);
    return md;
  }

  /** Whether the server still knows this client's session (an UNAUTHENTICATED answer says no). */
  private async sessionAlive(): Promise<boolean> {
    try {
      await this.call<ListAccountsResponse>((c, o) =>
        unary((cb) => c.listAccounts({ pattern: '', pageSize: 1, pageToken: '' }, this.metadata(), o, cb)),
      );
      return true;
    } catch (err) {
      if (err instanceof ChatError && err.code === 'UNAUTHENTICATED') return false;
      throw err;
    }
  }

  private call<T>(attempt: Attempt<T>, onTransient?: (err: unknown) => void): Promise<T> {
    if (this.abort.signal.aborted) return Promise.reject(closedError());
    return callLeader(this.ctx, attempt, { idempotent: true, onTransient });
  }

  /** While not connected, keeps looking for a leader so the connection state stays current. */
  private monitor(): void {
    if (this.monitoring || this.abort.signal.aborted) return;
    this.monitoring = true;
    const backoff = new Backoff({ initialMs: 200, maxMs: 2_000, factor: 2 });
    void (async () => {
      try {
        while (!this.abort.signal.aborted && this.state.current().kind !== 'connected') {
          const found = await this.tracker
            .find()
            .catch((err: unknown) => ({ kind: 'unreachable' as const, error: describeError(err) }));
          if (this.abort.signal.aborted) return;
          if (found.kind === 'leader') {
            if (found.leaderAnswered) {
              this.state.connected(found.leader);
              return;
            }
          } else if (found.kind === 'no-leader') {
            this.state.noLeader(found.waitingFor);
          } else {
            this.state.failed(new ChatError('UNAVAILABLE', `no replica could be reached (${found.error})`));
          }
          if (!(await sleep(backoff.next(), this.abort.signal))) return;
        }
      } finally {
        this.monitoring = false;
      }
    })();
  }
}
