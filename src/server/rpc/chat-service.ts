/**
 * The client-facing ChatService on top of a ReplicaHandle.
 *
 * Every call first waits for this replica to be a ready leader (a follower
 * answers UNAVAILABLE naming the leader), then authenticates (all calls but
 * CreateAccount and Login), validates its input (INVALID_ARGUMENT before
 * anything is logged), and either reads the applied chat state or submits
 * one op that the leader decides completely (time, hashes) and waits for it
 * to be committed and applied.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type {
  ChatEvent,
  ChatServiceServer,
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
  SubscribeRequest,
} from '../../gen/chat/v1/chat.js';
import type { ChatOp, OpResult } from '../chat/operations.js';
import {
  DELETE_IDS_MAX,
  DELETE_IDS_MIN,
  FETCH_LIMIT_MAX,
  FETCH_LIMIT_MIN,
  PASSWORD_MAX_LENGTH,
  validateIdempotencyKey,
  validateMessageText,
  validatePassword,
  validatePattern,
  validateUsername,
  usernameKey,
} from '../chat/validation.js';
import { NotLeaderError, type ReplicaHandle } from './replica-handle.js';
import { hashToken, newSessionToken, type Session } from './auth.js';
import { ClientActivity } from './client-activity.js';
import { hashPassword, verifyPassword } from './passwords.js';
import {
  fromChatError,
  invalidArgument,
  notLeaderStatus,
  RpcError,
  toStatusObject,
  unauthenticated,
} from './status-errors.js';
import { DEFAULT_RATE_LIMITS, peerHost, rateLimited, TokenBuckets, type RateLimits } from './rate-limits.js';
import { SessionCache } from './session-cache.js';
import { DEFAULT_SUBSCRIPTION_LIMITS, SubscriptionHub, type SubscriptionLimits } from './subscriptions.js';
import { decodePageToken, encodePageToken, toWireMessage } from './wire.js';

export const LIST_ACCOUNTS_DEFAULT_PAGE_SIZE = 50;
export const LIST_ACCOUNTS_MAX_PAGE_SIZE = 200;
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 200;

const WRONG_LOGIN = 'wrong username or password';

export interface ChatServiceOptions {
  logger: Logger;
  /** Stream limits; the defaults suit production. */
  subscriptions?: Partial<SubscriptionLimits>;
  /** Log-in and send rate limits (rate-limits.ts); the defaults suit production. */
  rateLimits?: Partial<RateLimits>;
}

export interface ChatServiceMetrics {
  /** Distinct client connections with a call or stream in progress, or a call within the last 30 s (see client-activity.ts). */
  connectedClients: number;
  /** Open Subscribe streams. */
  openStreams: number;
}

export interface ChatServiceImpl {
  service: ChatServiceServer;
  metrics(): ChatServiceMetrics;
  /** Ends every open stream with UNAVAILABLE and refuses new calls (server shutdown). */
  close(): void;
}

type ResultOf<T extends OpResult['type']> = Extract<OpResult, { type: T }>;

function check(problem: string | undefined, field?: string): void {
  if (problem !== undefined) throw invalidArgument(field ? `${field}: ${problem}` : problem);
}

function checkKey(key: string): void {
  check(validateIdempotencyKey(key), 'idempotency_key');
}

/** A non-negative id within the range a number holds exactly. */
function checkId(value: number, field: string, allowZero: boolean): void {
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw invalidArgument(
      `${field} must be a whole number${allowZero ? ', 0 or more' : ' of 1 or more'} (got ${value})`,
    );
  }
}

/** A password as given at login or account deletion: present and of a sane size (the full rules apply at creation). */
function checkGivenPassword(password: string): void {
  if (password.length === 0) throw invalidArgument('a password is required');
  // Two UTF-16 units at most per character: a longer string is too long without counting.
  if (password.length > 2 * PASSWORD_MAX_LENGTH || [...password].length > PASSWORD_MAX_LENGTH) {
    throw invalidArgument(`the password is too long; passwords have at most ${PASSWORD_MAX_LENGTH} characters`);
  }
}

export function createChatService(handle: ReplicaHandle, options: ChatServiceOptions): ChatServiceImpl {
  const logger = options.logger.child({ component: 'chat-service' });
  const hub = new SubscriptionHub(handle, logger, { ...DEFAULT_SUBSCRIPTION_LIMITS, ...options.subscriptions });
  const activity = new ClientActivity();
  const rates = { ...DEFAULT_RATE_LIMITS, ...options.rateLimits };
  const loginsByAccount = new TokenBuckets(rates.loginPerAccount);
  const loginsByAddress = new TokenBuckets(rates.loginPerAddress);
  const sendsBySession = new TokenBuckets(rates.sendPerSession);
  const sessions = new SessionCache(handle);
  let closed = false;

  /** Takes a token of `buckets` for `key`, or refuses the call with when to retry. */
  function limit(buckets: TokenBuckets, key: string, what: string): void {
    const waitMs = buckets.take(key);
    if (waitMs > 0) throw rateLimited(what, waitMs, buckets.rate);
  }

  /** Password hashing (log-in, new accounts) costs the leader: a caller address gets only so much of it. */
  function limitHashing(call: grpc.ServerUnaryCall<unknown, unknown>): void {
    limit(loginsByAddress, peerHost(call.getPeer()), 'log-in attempts and new accounts from this address');
  }

  /** Any failure as the status the client gets; unexpected ones are logged and hidden. */
  function toStatus(method: string, err: unknown): grpc.ServiceError {
    if (err instanceof RpcError) return toStatusObject(err);
    if (err instanceof NotLeaderError) return toStatusObject(notLeaderStatus(handle.id, err));
    logger.error({ event: 'rpc.internal_error', method, err }, `${method} failed unexpectedly`);
    return toStatusObject(
      new RpcError(grpc.status.INTERNAL, 'internal error in the chat server; it was logged, please retry'),
    );
  }

  async function leaderReady(): Promise<void> {
    if (closed)
      throw new RpcError(grpc.status.UNAVAILABLE, `replica ${handle.id} is shutting down; retry at another replica`);
    await handle.ensureLeaderReady();
  }

  async function submit<T extends OpResult['type']>(op: ChatOp & { type: T }): Promise<ResultOf<T>> {
    const outcome = await handle.submit(op);
    if (!outcome.ok) throw fromChatError(outcome.code, outcome.message);
    if (outcome.result.type !== op.type) throw new Error(`op ${op.type} came back as ${outcome.result.type}`);
    return outcome.result as ResultOf<T>;
  }

  function unary<Req, Res>(
    method: string,
    auth: boolean,
    run: (request: Req, session: Session | undefined, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const done = activity.begin(call.getPeer());
      (async () => {
        await leaderReady();
        const session = auth ? sessions.authenticate(call.metadata) : undefined;
        return run(call.request, session, call);
      })().then(
        (response) => {
          done();
          callback(null, response);
        },
        (err: unknown) => {
          done();
          callback(toStatus(method, err));
        },
      );
    };
  }

  const requireSession = (session: Session | undefined): Session => {
    if (!session) throw new Error('authenticated call without a session');
    return session;
  };

  const service: ChatServiceServer = {
    createAccount: unary('CreateAccount', false, async (req, _s, call): Promise<CreateAccountResponse> => {
      check(validateUsername(req.username));
      check(validatePassword(req.password));
      checkKey(req.idempotencyKey);
      // Without a key a retry cannot be told apart, so a taken name can be refused before the costly hash.
      if (req.idempotencyKey === '' && handle.chat.accountByName(req.username)) {
        throw fromChatError('ALREADY_EXISTS', `the username '${req.username}' is taken; choose another`);
      }
      limitHashing(call);
      const passwordHash = await hashPassword(req.password);
      const result = await submit({
        type: 'createAccount',
        at: Date.now(),
        key: req.idempotencyKey,
        username: req.username,
        passwordHash,
      });
      return { username: result.username };
    }),

    login: unary('Login', false, async (req, _s, call): Promise<LoginResponse> => {
      check(validateUsername(req.username));
      checkGivenPassword(req.password);
      checkKey(req.idempotencyKey);
      limitHashing(call);
      // Only failures count against an account (a success gives its token back), so its owner is not locked out by logging in.
      const accountKey = usernameKey(req.username);
      limit(loginsByAccount, accountKey, `log-in attempts for '${req.username}'`);
      const account = handle.chat.accountByName(req.username);
      const ok = await verifyPassword(req.password, account?.passwordHash);
      if (!account || !ok) throw unauthenticated(WRONG_LOGIN);
      loginsByAccount.refund(accountKey);
      const token = newSessionToken();
      let result: ResultOf<'login'>;
      try {
        result = await submit({
          type: 'login',
          at: Date.now(),
          key: req.idempotencyKey,
          userId: account.id,
          tokenHash: hashToken(token),
        });
      } catch (err) {
        // The account went away while the password was checked.
        if (err instanceof RpcError && err.code === grpc.status.NOT_FOUND) throw unauthenticated(WRONG_LOGIN);
        throw err;
      }
      return { token, username: result.username, unreadCount: result.unreadCount };
    }),

    logout: unary('Logout', true, async (_req, s): Promise<LogoutResponse> => {
      const { account, tokenHash } = requireSession(s);
      await submit({ type: 'logout', at: Date.now(), key: '', userId: account.id, tokenHash });
      return {};
    }),

    listAccounts: unary('ListAccounts', true, (req): ListAccountsResponse => {
      check(validatePattern(req.pattern));
      const pageSize =
        req.pageSize === 0 ? LIST_ACCOUNTS_DEFAULT_PAGE_SIZE : Math.min(req.pageSize, LIST_ACCOUNTS_MAX_PAGE_SIZE);
      const after = decodePageToken(req.pageToken);
      const page = handle.chat.listAccounts(req.pattern, after, pageSize);
      return {
        accounts: page.accounts.map((a) => ({ username: a.username, online: hub.isOnline(a.id) })),
        nextPageToken: page.nextAfter === undefined ? '' : encodePageToken(page.nextAfter),
      };
    }),

    sendMessage: unary('SendMessage', true, async (req, s): Promise<SendMessageResponse> => {
      const { account, tokenHash } = requireSession(s);
      check(validateUsername(req.recipient), 'recipient');
      check(validateMessageText(req.text));
      checkKey(req.idempotencyKey);
      limit(sendsBySession, tokenHash, 'messages from this session');
      const result = await submit({
        type: 'sendMessage',
        at: Date.now(),
        key: req.idempotencyKey,
        senderId: account.id,
        recipient: req.recipient,
        text: req.text,
      });
      return { message: toWireMessage(result.message) };
    }),

    subscribe: (call: grpc.ServerWritableStream<SubscribeRequest, ChatEvent>) => {
      const done = activity.begin(call.getPeer());
      const fail = (err: unknown) => {
        done();
        if (!call.cancelled) call.emit('error', toStatus('Subscribe', err));
      };
      leaderReady().then(() => {
        if (call.cancelled) {
          done();
          return;
        }
        try {
          const { account, tokenHash } = sessions.authenticate(call.metadata);
          checkId(call.request.afterMessageId, 'after_message_id', true);
          if (closed)
            throw new RpcError(
              grpc.status.UNAVAILABLE,
              `replica ${handle.id} is shutting down; retry at another replica`,
            );
          hub.open(call, account.id, tokenHash, call.request.afterMessageId, done);
        } catch (err) {
          fail(err);
        }
      }, fail);
    },

    fetchUnread: unary('FetchUnread', true, async (req, s): Promise<FetchUnreadResponse> => {
      const { account } = requireSession(s);
      if (req.limit < FETCH_LIMIT_MIN || req.limit > FETCH_LIMIT_MAX) {
        throw invalidArgument(`limit must be from ${FETCH_LIMIT_MIN} to ${FETCH_LIMIT_MAX} (got ${req.limit})`);
      }
      checkKey(req.idempotencyKey);
      const result = await submit({
        type: 'fetchUnread',
        at: Date.now(),
        key: req.idempotencyKey,
        userId: account.id,
        limit: req.limit,
      });
      return { messages: result.messages.map(toWireMessage), remaining: result.remaining };
    }),

    listConversations: unary('ListConversations', true, (_req, s): ListConversationsResponse => {
      const { account } = requireSession(s);
      return {
        conversations: handle.chat.conversations(account.id).map((c) => ({
          peer: c.peer,
          lastMessage: toWireMessage(c.lastMessage),
          unreadCount: c.unreadCount,
          peerOnline: !c.peerDeleted && hub.isOnline(c.peerId),
          peerDeleted: c.peerDeleted,
        })),
      };
    }),

    getHistory: unary('GetHistory', true, (req, s): GetHistoryResponse => {
      const { account } = requireSession(s);
      check(validateUsername(req.peer), 'peer');
      checkId(req.beforeId, 'before_id', true);
      const limit = req.limit === 0 ? HISTORY_DEFAULT_LIMIT : Math.min(req.limit, HISTORY_MAX_LIMIT);
      const peer = handle.chat.peerByName(req.peer);
      if (!peer) throw fromChatError('NOT_FOUND', `no account named '${req.peer}'`);
      const page = handle.chat.history(account.id, peer.id, req.beforeId, limit);
      return { messages: page.messages.map(toWireMessage), hasMore: page.hasMore };
    }),

    markRead: unary('MarkRead', true, async (req, s): Promise<MarkReadResponse> => {
      const { account } = requireSession(s);
      check(validateUsername(req.peer), 'peer');
      checkId(req.upToId, 'up_to_id', true);
      checkKey(req.idempotencyKey);
      const result = await submit({
        type: 'markRead',
        at: Date.now(),
        key: req.idempotencyKey,
        userId: account.id,
        peer: req.peer,
        upToId: req.upToId,
      });
      return { marked: result.marked };
    }),

    deleteMessages: unary('DeleteMessages', true, async (req, s): Promise<DeleteMessagesResponse> => {
      const { account } = requireSession(s);
      if (req.ids.length < DELETE_IDS_MIN || req.ids.length > DELETE_IDS_MAX) {
        throw invalidArgument(`give from ${DELETE_IDS_MIN} to ${DELETE_IDS_MAX} message ids (got ${req.ids.length})`);
      }
      for (const id of req.ids) checkId(id, 'message id', false);
      checkKey(req.idempotencyKey);
      const result = await submit({
        type: 'deleteMessages',
        at: Date.now(),
        key: req.idempotencyKey,
        userId: account.id,
        ids: req.ids,
      });
      return { deletedIds: result.deletedIds };
    }),

    deleteAccount: unary('DeleteAccount', true, async (req, s): Promise<DeleteAccountResponse> => {
      const { account } = requireSession(s);
      checkGivenPassword(req.password);
      checkKey(req.idempotencyKey);
      if (!(await verifyPassword(req.password, account.passwordHash))) {
        throw unauthenticated('wrong password; the account was not deleted');
      }
      await submit({ type: 'deleteAccount', at: Date.now(), key: req.idempotencyKey, userId: account.id });
      return {};
    }),

    notifyTyping: unary('NotifyTyping', true, (req, s): NotifyTypingResponse => {
      const { account } = requireSession(s);
      check(validateUsername(req.peer), 'peer');
      const peer = handle.chat.accountByName(req.peer);
      if (!peer) throw fromChatError('NOT_FOUND', `no account named '${req.peer}'`);
      hub.typing({ id: account.id, username: account.username }, peer.id);
      return {};
    }),
  };

  return {
    service,
    metrics: () => ({ connectedClients: activity.connectedClients(), openStreams: hub.openStreams }),
    close: () => {
      if (closed) return;
      closed = true;
      sessions.close();
      hub.close(
        new RpcError(
          grpc.status.UNAVAILABLE,
          `replica ${handle.id} is shutting down; subscribe again at another replica`,
        ),
      );
    },
  };
}
