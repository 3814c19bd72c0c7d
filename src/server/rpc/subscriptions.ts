/**
 * Open Subscribe streams and what feeds them.
 *
 * A stream keeps a cursor (the last message id it sent). Its messages come
 * from the chat state (`messagesAfter(user, cursor)`) whenever it is behind,
 * and straight from the applied ops once it has caught up. The applied-op
 * listener is registered before the first read of the state, and everything
 * runs on one thread, so no message committed after the stream opened can
 * slip between the backlog and the live feed; the cursor drops doubles and
 * keeps id order (ids grow in log order).
 *
 * Backpressure: when `write()` returns false the stream stops writing, only
 * notes that it is behind, and reads the rest from the state on 'drain' — so a
 * slow reader costs one page of messages at most, not a growing queue. A
 * stream that stays stuck for `stallTimeoutMs`, or piles up more deletion
 * notices than `maxPendingDeletedIds`, is ended with RESOURCE_EXHAUSTED (the
 * client resumes after its last id). An idle stream holds no timer and does
 * no work.
 *
 * Besides messages and deletions a stream carries, on the leader only and
 * without replication: the presence changes of the user's conversation peers
 * (a user is online while it has a stream open here), typing notices, and in
 * the sender's own copy of a message the idempotency key it was sent with
 * (remembered for the most recent sends applied on this replica, so a client
 * that resubscribes at a new leader still gets it).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ChatEvent, SubscribeRequest } from '../../gen/chat/v1/chat.js';
import type { AccountId, MessageId, StoredMessage } from '../chat/operations.js';
import type { AppliedOp, ReplicaHandle } from './replica-handle.js';
import { RpcError, toStatusObject } from './status-errors.js';
import { toWireMessage } from './wire.js';

export type ChatStreamCall = grpc.ServerWritableStream<SubscribeRequest, ChatEvent>;

export interface SubscriptionLimits {
  /** Messages read from the state per query while catching up. */
  pageSize: number;
  /** Deletion notices (ids) one blocked stream may hold before it is ended. */
  maxPendingDeletedIds: number;
  /** How long a stream may stay unable to take more before it is ended. */
  stallTimeoutMs: number;
}

export const DEFAULT_SUBSCRIPTION_LIMITS: SubscriptionLimits = {
  pageSize: 128,
  maxPendingDeletedIds: 10_000,
  stallTimeoutMs: 60_000,
};

/** Idempotency keys of this many of the latest applied sends are kept for their senders' streams. */
export const REMEMBERED_SEND_KEYS = 10_000;
/** Typing notices from one user to another closer together than this are dropped. */
export const TYPING_MIN_INTERVAL_MS = 1_000;

class ChatStream {
  private lastSentId: MessageId;
  /** The state may hold messages for this stream that it has not sent. */
  private behind = true;
  /** The last write() returned false; waiting for 'drain'. */
  private blocked = false;
  private pendingDeleted: MessageId[] = [];
  /** Presence changes not written yet (the latest per username). */
  private pendingPresence = new Map<string, boolean>();
  /** Ids of the accounts this user has a conversation with: whose presence it is told. */
  private readonly peers: Set<AccountId>;
  private stallTimer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly hub: SubscriptionHub,
    readonly call: ChatStreamCall,
    readonly userId: AccountId,
    readonly tokenHash: string,
    afterId: MessageId,
    private readonly onClosed: () => void,
  ) {
    this.lastSentId = afterId;
    this.peers = new Set(hub.handle.chat.conversations(userId).map((c) => c.peerId));
    const closed = () => this.close();
    call.once('cancelled', closed);
    call.once('close', closed);
    call.once('finish', closed);
  }

  /** A message committed after the stream opened, where the user is sender or recipient. */
  deliverMessage(m: StoredMessage): void {
    this.guard(() => this.takeMessage(m));
  }

  deliverDeleted(ids: MessageId[]): void {
    this.guard(() => this.takeDeleted(ids));
  }

  /** Whether `userId` is one of this user's conversation peers. */
  knows(userId: AccountId): boolean {
    return this.peers.has(userId);
  }

  deliverPresence(username: string, online: boolean): void {
    this.guard(() => {
      if (this.ended) return;
      if (this.behind || this.blocked) this.pendingPresence.set(username, online);
      else this.write({ event: { $case: 'presence', value: { username, online } } });
    });
  }

  /** Dropped when the stream cannot take it now: a typing notice is stale by the time it could. */
  deliverTyping(username: string): void {
    this.guard(() => {
      if (!this.ended && !this.behind && !this.blocked) this.write({ event: { $case: 'typing', value: { username } } });
    });
  }

  private takeMessage(m: StoredMessage): void {
    if (this.ended || m.id <= this.lastSentId) return;
    if (this.behind || this.blocked) {
      this.behind = true; // the state holds it; read it when the stream can take more
      return;
    }
    this.writeMessage(m);
  }

  private takeDeleted(ids: MessageId[]): void {
    if (this.ended || ids.length === 0) return;
    if (!this.behind && !this.blocked) {
      this.write({ event: { $case: 'deleted', value: { ids } } });
      return;
    }
    this.pendingDeleted.push(...ids);
    if (this.pendingDeleted.length > this.hub.limits.maxPendingDeletedIds) {
      this.fail(
        new RpcError(
          grpc.status.RESOURCE_EXHAUSTED,
          'the stream could not keep up with the changes; subscribe again to resume',
        ),
      );
    }
  }

  /** Writes whatever is due; a failure (say, the database closing under a stopping server) ends this stream only. */
  pump(): void {
    this.guard(() => this.pumpUnsafe());
  }

  private guard(work: () => void): void {
    try {
      work();
    } catch (err) {
      this.hub.logger.error({ event: 'rpc.stream_failed', err }, 'a chat stream failed');
      this.fail(new RpcError(grpc.status.INTERNAL, 'internal error in the chat stream; subscribe again'));
    }
  }

  /** Writes whatever is due until done or the stream pushes back. */
  private pumpUnsafe(): void {
    while (!this.ended && !this.blocked) {
      if (this.behind) {
        const pageSize = this.hub.limits.pageSize;
        const page = this.hub.handle.chat.messagesAfter(this.userId, this.lastSentId, pageSize);
        let sent = 0;
        for (const m of page) {
          if (this.blocked || this.ended) break;
          this.writeMessage(m);
          sent++;
        }
        if (sent === page.length && page.length < pageSize) this.behind = false;
        continue;
      }
      if (this.pendingDeleted.length > 0) {
        const ids = this.pendingDeleted;
        this.pendingDeleted = [];
        this.write({ event: { $case: 'deleted', value: { ids } } });
        continue;
      }
      if (this.pendingPresence.size > 0) {
        const changes = [...this.pendingPresence];
        this.pendingPresence = new Map();
        for (const [username, online] of changes)
          this.write({ event: { $case: 'presence', value: { username, online } } });
        continue;
      }
      return;
    }
  }

  /** Ends the stream with a status (best effort: a reader that never reads may not see it) and forgets it. */
  fail(err: RpcError): void {
    if (this.ended) return;
    this.close();
    try {
      this.call.emit('error', toStatusObject(err));
    } catch (e) {
      this.hub.logger.debug({ event: 'rpc.stream_end_failed', err: e }, 'could not end a chat stream');
    }
  }

  private writeMessage(m: StoredMessage): void {
    this.lastSentId = m.id;
    const own = m.senderId === this.userId;
    const idempotencyKey = own ? (this.hub.sendKey(m.id) ?? '') : '';
    this.write({ event: { $case: 'message', value: { ...toWireMessage(m), idempotencyKey } } });
    // A new conversation: from now on its peer's presence is told here, starting with the current one.
    const peer = own ? m.recipientId : m.senderId;
    if (this.peers.has(peer) || peer === this.userId) return;
    this.peers.add(peer);
    if (this.hub.isOnline(peer)) this.deliverPresence(own ? m.recipient : m.sender, true);
  }

  private write(event: ChatEvent): void {
    if (this.call.write(event)) return;
    this.blocked = true;
    this.stallTimer = setTimeout(() => {
      this.fail(
        new RpcError(grpc.status.RESOURCE_EXHAUSTED, 'the stream was not read for too long; subscribe again to resume'),
      );
    }, this.hub.limits.stallTimeoutMs);
    this.call.once('drain', () => {
      if (this.stallTimer) clearTimeout(this.stallTimer);
      this.stallTimer = undefined;
      this.blocked = false;
      this.pump();
    });
  }

  private close(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.pendingDeleted = [];
    this.pendingPresence.clear();
    this.hub.forget(this);
    this.onClosed();
  }
}

/** Every open Subscribe stream of this replica, fed from the applied ops. */
export class SubscriptionHub {
  private readonly streams = new Set<ChatStream>();
  private readonly byUser = new Map<AccountId, Set<ChatStream>>();
  /** Message id → the idempotency key it was sent with, for the latest sends applied here (oldest first). */
  private readonly sendKeys = new Map<MessageId, string>();
  /** `from:to` → when a typing notice last went out. */
  private readonly typingSent = new Map<string, number>();
  /** Set while every stream is being ended: nobody is told about the presence changes that causes. */
  private endingAll = false;
  private readonly unsubscribe: (() => void)[];

  constructor(
    readonly handle: ReplicaHandle,
    readonly logger: Logger,
    readonly limits: SubscriptionLimits = DEFAULT_SUBSCRIPTION_LIMITS,
  ) {
    this.unsubscribe = [
      handle.onApplied((applied) => this.onApplied(applied)),
      handle.onLeadershipChange((leading) => {
        if (leading) return;
        try {
          this.endAll(
            new RpcError(
              grpc.status.UNAVAILABLE,
              `replica ${handle.id} stopped leading; subscribe again at the new leader`,
            ),
          );
        } catch (err) {
          this.logger.error({ event: 'rpc.stream_dispatch_failed', err }, 'could not end the chat streams');
        }
      }),
    ];
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Online: at least one open stream on this replica. */
  isOnline(userId: AccountId): boolean {
    return (this.byUser.get(userId)?.size ?? 0) > 0;
  }

  /**
   * Starts feeding `call` every message of the user after `afterId`, then the
   * live ones. Must be called synchronously after authenticating, on the leader.
   */
  open(call: ChatStreamCall, userId: AccountId, tokenHash: string, afterId: MessageId, onClosed: () => void): void {
    const stream = new ChatStream(this, call, userId, tokenHash, afterId, onClosed);
    const cameOnline = !this.isOnline(userId);
    this.streams.add(stream);
    let mine = this.byUser.get(userId);
    if (!mine) {
      mine = new Set();
      this.byUser.set(userId, mine);
    }
    mine.add(stream);
    // Headers now, so the client knows the stream is established even before a message arrives.
    call.sendMetadata(new grpc.Metadata());
    stream.pump();
    if (cameOnline) this.announcePresence(userId, true);
  }

  forget(stream: ChatStream): void {
    this.streams.delete(stream);
    const mine = this.byUser.get(stream.userId);
    if (mine) {
      mine.delete(stream);
      if (mine.size === 0) {
        this.byUser.delete(stream.userId);
        this.announcePresence(stream.userId, false);
      }
    }
  }

  endAll(err: RpcError): void {
    this.endingAll = true;
    try {
      for (const stream of [...this.streams]) stream.fail(err);
    } finally {
      this.endingAll = false;
    }
  }

  /** The idempotency key message `id` was sent with, if it is among the latest sends applied here. */
  sendKey(id: MessageId): string | undefined {
    return this.sendKeys.get(id);
  }

  /**
   * `from` is typing to `to`: a Typing event on `to`'s open streams, at most one
   * per TYPING_MIN_INTERVAL_MS for the pair.
   */
  typing(from: { id: AccountId; username: string }, to: AccountId, now = Date.now()): void {
    if (from.id === to) return;
    const pair = `${from.id}:${to}`;
    const last = this.typingSent.get(pair);
    if (last !== undefined && now - last < TYPING_MIN_INTERVAL_MS) return;
    this.typingSent.set(pair, now);
    if (this.typingSent.size > 1024) {
      for (const [k, at] of this.typingSent) if (now - at >= TYPING_MIN_INTERVAL_MS) this.typingSent.delete(k);
    }
    for (const s of this.streamsOf(to)) s.deliverTyping(from.username);
  }

  /** Tells the streams of `userId`'s conversation peers that it came online or went offline. */
  private announcePresence(userId: AccountId, online: boolean): void {
    if (this.endingAll) return;
    try {
      const username = this.handle.chat.accountById(userId)?.username;
      if (username === undefined) return; // the account is gone: its peers are told by the deletions
      for (const s of this.streams) if (s.userId !== userId && s.knows(userId)) s.deliverPresence(username, online);
    } catch (err) {
      this.logger.error({ event: 'rpc.presence_failed', err }, 'could not announce a presence change');
    }
  }

  private rememberSendKey(id: MessageId, key: string): void {
    this.sendKeys.set(id, key);
    if (this.sendKeys.size > REMEMBERED_SEND_KEYS) {
      const oldest = this.sendKeys.keys().next();
      if (!oldest.done) this.sendKeys.delete(oldest.value);
    }
  }

  /** Stops listening to the replica and ends every stream. */
  close(err: RpcError): void {
    for (const u of this.unsubscribe) u();
    this.endAll(err);
  }

  private streamsOf(userId: AccountId): ChatStream[] {
    const mine = this.byUser.get(userId);
    return mine ? [...mine] : [];
  }

  /** Runs inside the replica's apply loop: it must never throw into it. */
  private onApplied(applied: AppliedOp): void {
    try {
      this.dispatch(applied);
    } catch (err) {
      this.logger.error(
        { event: 'rpc.stream_dispatch_failed', err },
        'could not pass an applied op to the chat streams',
      );
    }
  }

  private dispatch({ op, outcome }: AppliedOp): void {
    // A replayed outcome changed nothing (and may name a message this user no longer sees).
    if (!outcome.ok || outcome.replayed) return;
    if (outcome.result.type === 'sendMessage' && op.key !== '') this.rememberSendKey(outcome.result.message.id, op.key);
    if (this.streams.size === 0) return;
    const result = outcome.result;
    switch (result.type) {
      case 'sendMessage': {
        const m = result.message;
        for (const s of this.streamsOf(m.senderId)) s.deliverMessage(m);
        if (m.recipientId !== m.senderId) for (const s of this.streamsOf(m.recipientId)) s.deliverMessage(m);
        break;
      }
      case 'deleteMessages':
        for (const notice of result.notices)
          for (const s of this.streamsOf(notice.userId)) s.deliverDeleted(notice.ids);
        break;
      case 'deleteAccount': {
        for (const notice of result.notices) {
          if (notice.userId === result.userId) continue;
          for (const s of this.streamsOf(notice.userId)) s.deliverDeleted(notice.ids);
        }
        const ended = new RpcError(grpc.status.UNAUTHENTICATED, 'account deleted');
        for (const s of this.streamsOf(result.userId)) s.fail(ended);
        break;
      }
      case 'logout': {
        if (op.type !== 'logout') break;
        const ended = new RpcError(grpc.status.UNAUTHENTICATED, 'logged out');
        for (const s of this.streamsOf(op.userId)) if (s.tokenHash === op.tokenHash) s.fail(ended);
        break;
      }
      default:
        break;
    }
  }
}
