import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Database, Statement } from 'better-sqlite3';
import type {
  AccountId,
  ApplyOutcome,
  ChatErrorCode,
  ChatOp,
  ChatOpType,
  CreateAccountOp,
  DeleteAccountOp,
  DeleteMessagesOp,
  DeletionNotice,
  FetchUnreadOp,
  LoginOp,
  LogoutOp,
  MarkReadOp,
  MessageId,
  OpResult,
  SendMessageOp,
  StoredMessage,
} from './operations.js';
import type { AccountPage, AccountRecord, ChatStateApi, ConversationRecord, PeerRecord } from './state-api.js';
import { COUNTER_NEXT_ACCOUNT_ID, COUNTER_NEXT_MESSAGE_ID } from './schema.js';
import {
  DELETE_IDS_MAX,
  DELETE_IDS_MIN,
  FETCH_LIMIT_MAX,
  FETCH_LIMIT_MIN,
  normalizeMessageText,
  usernameKey,
  validateIdempotencyKey,
  validateMessageText,
  validateUsername,
} from './validation.js';
import { wildcardToGlob } from './wildcard.js';

/** Idempotency rows older than this (by op time) are pruned. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Pruning runs when the log index is a multiple of this. */
export const IDEMPOTENCY_PRUNE_EVERY = 256;

const OP_TYPES: readonly ChatOpType[] = [
  'createAccount',
  'login',
  'logout',
  'sendMessage',
  'fetchUnread',
  'markRead',
  'deleteMessages',
  'deleteAccount',
];

/** What an idempotency row keeps of an outcome: small, and enough to answer a retry the same way. */
type StoredOutcome =
  | { ok: false; code: ChatErrorCode; message: string }
  | { ok: true; type: 'createAccount'; userId: AccountId; username: string }
  | { ok: true; type: 'login'; userId: AccountId; username: string; unreadCount: number; tokenHash: string }
  | { ok: true; type: 'logout' }
  | { ok: true; type: 'sendMessage'; id: MessageId; recipientId: AccountId; sentAt: number; read: boolean }
  | { ok: true; type: 'fetchUnread'; ids: MessageId[]; remaining: number }
  | { ok: true; type: 'markRead'; marked: number }
  | { ok: true; type: 'deleteMessages'; deletedIds: MessageId[]; notices: DeletionNotice[] }
  | { ok: true; type: 'deleteAccount'; userId: AccountId };

interface Executed {
  outcome: ApplyOutcome;
  stored: StoredOutcome;
}

interface AccountRow {
  id: number;
  username: string;
  password_hash: string;
  created_at: number;
}

interface PeerRow {
  id: number;
  username: string;
  deleted_at: number | null;
}

interface MessageStateRow {
  id: number;
  sender_id: number;
  recipient_id: number;
  read_at: number | null;
  hidden_for_sender: number;
  hidden_for_recipient: number;
}

interface MessageRow {
  id: number;
  sender_id: number;
  recipient_id: number;
  sender: string;
  recipient: string;
  text: string;
  sent_at: number;
  is_read: number;
  sender_deleted: number;
}

interface IdempotencyRow {
  op_type: string;
  outcome: string;
}

const MESSAGE_COLUMNS = `
  m.id AS id, m.sender_id AS sender_id, m.recipient_id AS recipient_id,
  s.username AS sender, r.username AS recipient, m.text AS text, m.sent_at AS sent_at,
  (m.read_at IS NOT NULL) AS is_read, (s.deleted_at IS NOT NULL) AS sender_deleted`;
const MESSAGE_JOINS = `
  JOIN chat_accounts s ON s.id = m.sender_id
  JOIN chat_accounts r ON r.id = m.recipient_id`;

/**
 * The SQL of every statement `apply` runs, by name. Each must be served by an
 * index (no full scan of a table that grows with history); the query-plan
 * test checks this with EXPLAIN QUERY PLAN.
 */
export const WRITE_PATH_SQL = {
  idempotencyGet: 'SELECT op_type, outcome FROM chat_idempotency WHERE scope = ? AND key = ?',
  idempotencyPut: 'INSERT INTO chat_idempotency (scope, key, op_type, created_at, outcome) VALUES (?, ?, ?, ?, ?)',
  idempotencyUpdate: 'UPDATE chat_idempotency SET outcome = ? WHERE scope = ? AND key = ?',
  idempotencyPrune: 'DELETE FROM chat_idempotency WHERE created_at < ?',
  counterTake: 'UPDATE chat_counters SET value = value + 1 WHERE name = ? RETURNING value - 1',
  liveAccountByKey:
    'SELECT id, username, password_hash, created_at FROM chat_accounts WHERE name_key = ? AND deleted_at IS NULL',
  liveAccountById:
    'SELECT id, username, password_hash, created_at FROM chat_accounts WHERE id = ? AND deleted_at IS NULL',
  // What sendMessage and the existence checks need, without the password hash (a third of the lookup's time).
  liveNameById: 'SELECT username FROM chat_accounts WHERE id = ? AND deleted_at IS NULL',
  liveIdNameByKey: 'SELECT id, username FROM chat_accounts WHERE name_key = ? AND deleted_at IS NULL',
  latestAccountByKey: 'SELECT id, username, deleted_at FROM chat_accounts WHERE name_key = ? ORDER BY id DESC LIMIT 1',
  accountUnread: 'SELECT unread_count FROM chat_accounts WHERE id = ?',
  insertAccount:
    'INSERT INTO chat_accounts (id, username, name_key, password_hash, created_at, deleted_at, unread_count) VALUES (?, ?, ?, ?, ?, NULL, 0)',
  markAccountDeleted: 'UPDATE chat_accounts SET deleted_at = ?, unread_count = 0 WHERE id = ?',
  addUnread: 'UPDATE chat_accounts SET unread_count = unread_count + ? WHERE id = ?',
  sessionOwner: 'SELECT user_id FROM chat_sessions WHERE token_hash = ?',
  insertSession: 'INSERT INTO chat_sessions (token_hash, user_id, created_at) VALUES (?, ?, ?)',
  deleteSession: 'DELETE FROM chat_sessions WHERE token_hash = ? AND user_id = ?',
  deleteUserSessions: 'DELETE FROM chat_sessions WHERE user_id = ?',
  insertMessage:
    'INSERT INTO chat_messages (id, sender_id, recipient_id, text, sent_at, read_at, hidden_for_sender, hidden_for_recipient) VALUES (?, ?, ?, ?, ?, ?, 0, 0)',
  messageState:
    'SELECT id, sender_id, recipient_id, read_at, hidden_for_sender, hidden_for_recipient FROM chat_messages WHERE id = ?',
  messageById: `SELECT ${MESSAGE_COLUMNS} FROM chat_messages m ${MESSAGE_JOINS} WHERE m.id = ?`,
  oldestUnread:
    'SELECT id FROM chat_messages WHERE recipient_id = ? AND read_at IS NULL AND hidden_for_recipient = 0 ORDER BY id LIMIT ?',
  markUnreadUpTo:
    'UPDATE chat_messages SET read_at = ? WHERE recipient_id = ? AND read_at IS NULL AND hidden_for_recipient = 0 AND id <= ?',
  markPeerUnreadUpTo:
    'UPDATE chat_messages SET read_at = ? WHERE recipient_id = ? AND sender_id = ? AND read_at IS NULL AND hidden_for_recipient = 0 AND id <= ?',
  deleteMessage: 'DELETE FROM chat_messages WHERE id = ?',
  hideForSender: 'UPDATE chat_messages SET hidden_for_sender = 1 WHERE id = ?',
  hideForRecipient: 'UPDATE chat_messages SET hidden_for_recipient = 1 WHERE id = ?',
  deleteReceived:
    'DELETE FROM chat_messages WHERE recipient_id = ? RETURNING id, sender_id, hidden_for_sender, hidden_for_recipient',
  withdrawUnreadSent:
    'DELETE FROM chat_messages WHERE sender_id = ? AND read_at IS NULL RETURNING id, recipient_id, hidden_for_sender, hidden_for_recipient',
  hideAllSent: 'UPDATE chat_messages SET hidden_for_sender = 1 WHERE sender_id = ? AND hidden_for_sender = 0 RETURNING id',
  deleteHiddenSent: 'DELETE FROM chat_messages WHERE sender_id = ? AND hidden_for_recipient = 1',
} as const;

/** The SQL of the read paths (RPCs and streams), by name. */
export const READ_SQL = {
  sessionAccount: `SELECT a.id, a.username, a.password_hash, a.created_at
    FROM chat_sessions s JOIN chat_accounts a ON a.id = s.user_id
    WHERE s.token_hash = ? AND a.deleted_at IS NULL`,
  listAccounts: `SELECT id, username FROM chat_accounts
    WHERE deleted_at IS NULL AND name_key GLOB ? AND name_key > ?
    ORDER BY name_key LIMIT ?`,
  latestAccountById: 'SELECT id, username, deleted_at FROM chat_accounts WHERE id = ?',
  // Each peer once, found by skipping through the pair index (peers the user wrote to) and the inbox
  // index (peers who wrote to the user): a couple of index searches per peer, whatever the history's
  // length. A conversation's last message is the newest one in either direction that the user has
  // not deleted; a peer with none left is not listed.
  conversationPeers: `WITH RECURSIVE
      wrote_to(peer) AS (
        SELECT MIN(recipient_id) FROM chat_messages INDEXED BY chat_messages_pair WHERE sender_id = @user
        UNION ALL
        SELECT (SELECT MIN(recipient_id) FROM chat_messages INDEXED BY chat_messages_pair
          WHERE sender_id = @user AND recipient_id > wrote_to.peer)
        FROM wrote_to WHERE wrote_to.peer IS NOT NULL),
      heard_from(peer) AS (
        SELECT MIN(sender_id) FROM chat_messages INDEXED BY chat_messages_inbox_pair WHERE recipient_id = @user
        UNION ALL
        SELECT (SELECT MIN(sender_id) FROM chat_messages INDEXED BY chat_messages_inbox_pair
          WHERE recipient_id = @user AND sender_id > heard_from.peer)
        FROM heard_from WHERE heard_from.peer IS NOT NULL),
      peers(peer) AS (
        SELECT peer FROM wrote_to WHERE peer IS NOT NULL
        UNION
        SELECT peer FROM heard_from WHERE peer IS NOT NULL),
      latest(peer, sent, received) AS MATERIALIZED (
        SELECT peer,
          (SELECT id FROM chat_messages INDEXED BY chat_messages_pair
            WHERE sender_id = @user AND recipient_id = peer AND hidden_for_sender = 0 ORDER BY id DESC LIMIT 1),
          (SELECT id FROM chat_messages INDEXED BY chat_messages_pair
            WHERE sender_id = peer AND recipient_id = @user AND hidden_for_recipient = 0 ORDER BY id DESC LIMIT 1)
        FROM peers)
    SELECT peer AS peer_id, MAX(COALESCE(sent, 0), COALESCE(received, 0)) AS last_id FROM latest
    WHERE sent IS NOT NULL OR received IS NOT NULL
    ORDER BY last_id DESC`,
  unreadFromPeer: `SELECT COUNT(*) AS n FROM chat_messages
    WHERE recipient_id = ? AND sender_id = ? AND read_at IS NULL AND hidden_for_recipient = 0`,
  // The pair index walks one direction of the conversation only. Left to itself the planner takes
  // the covering sender index instead and reads every message the sender wrote to anybody before
  // `before` (the page took 1.7x as long with a thousand messages per sender, and grows with its history).
  history: `WITH ids AS (
      SELECT id FROM (SELECT id FROM chat_messages INDEXED BY chat_messages_pair
        WHERE sender_id = @user AND recipient_id = @peer AND hidden_for_sender = 0 AND id < @before ORDER BY id DESC LIMIT @limit)
      UNION
      SELECT id FROM (SELECT id FROM chat_messages INDEXED BY chat_messages_pair
        WHERE sender_id = @peer AND recipient_id = @user AND hidden_for_recipient = 0 AND id < @before ORDER BY id DESC LIMIT @limit)
      ORDER BY id DESC LIMIT @limit)
    SELECT ${MESSAGE_COLUMNS} FROM ids JOIN chat_messages m ON m.id = ids.id ${MESSAGE_JOINS} ORDER BY m.id`,
  messagesAfter: `WITH ids AS (
      SELECT id FROM (SELECT id FROM chat_messages
        WHERE sender_id = @user AND hidden_for_sender = 0 AND id > @after ORDER BY id LIMIT @limit)
      UNION
      SELECT id FROM (SELECT id FROM chat_messages
        WHERE recipient_id = @user AND hidden_for_recipient = 0 AND id > @after ORDER BY id LIMIT @limit)
      ORDER BY id LIMIT @limit)
    SELECT ${MESSAGE_COLUMNS} FROM ids JOIN chat_messages m ON m.id = ids.id ${MESSAGE_JOINS} ORDER BY m.id`,
} as const;

/** Table dumps in canonical order (primary key order); one tag per table. */
const DUMPS = [
  { tag: 'c', table: 'chat_counters', sql: 'SELECT name, value FROM chat_counters ORDER BY name' },
  {
    tag: 'a',
    table: 'chat_accounts',
    sql: 'SELECT id, username, password_hash, created_at, deleted_at, unread_count FROM chat_accounts ORDER BY id',
  },
  { tag: 's', table: 'chat_sessions', sql: 'SELECT token_hash, user_id, created_at FROM chat_sessions ORDER BY token_hash' },
  {
    tag: 'm',
    table: 'chat_messages',
    sql: 'SELECT id, sender_id, recipient_id, text, sent_at, read_at, hidden_for_sender, hidden_for_recipient FROM chat_messages ORDER BY id',
  },
  {
    tag: 'i',
    table: 'chat_idempotency',
    sql: 'SELECT scope, key, op_type, created_at, outcome FROM chat_idempotency ORDER BY scope, key',
  },
] as const;

type DumpTag = (typeof DUMPS)[number]['tag'];
type Cell = string | number | null;

const SNAPSHOT_MAGIC = Buffer.from('CHATST01', 'ascii');
const SNAPSHOT_FRAME_BYTES = 1 << 20;
const DIGEST_HEADER = 'chat-state-v1\n';

/** Column kinds of each dumped table, for checking an imported snapshot. */
const ROW_SHAPES: Record<DumpTag, readonly ('int' | 'int?' | 'str' | 'flag')[]> = {
  c: ['str', 'int'],
  a: ['int', 'str', 'str', 'int', 'int?', 'int'],
  s: ['str', 'int', 'int'],
  m: ['int', 'int', 'int', 'str', 'int', 'int?', 'flag', 'flag'],
  i: ['str', 'str', 'str', 'int', 'str'],
};

const IMPORT_SQL: Record<DumpTag, string> = {
  c: 'INSERT INTO chat_counters (name, value) VALUES (?, ?)',
  a: 'INSERT INTO chat_accounts (id, username, password_hash, created_at, deleted_at, unread_count, name_key) VALUES (?, ?, ?, ?, ?, ?, ?)',
  s: 'INSERT INTO chat_sessions (token_hash, user_id, created_at) VALUES (?, ?, ?)',
  m: 'INSERT INTO chat_messages (id, sender_id, recipient_id, text, sent_at, read_at, hidden_for_sender, hidden_for_recipient) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  i: 'INSERT INTO chat_idempotency (scope, key, op_type, created_at, outcome) VALUES (?, ?, ?, ?, ?)',
};

/** Tables cleared by importState, children before parents. */
const CLEAR_ORDER = ['chat_idempotency', 'chat_messages', 'chat_sessions', 'chat_accounts', 'chat_counters'] as const;

function isSafeId(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
}

function isSafeInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n);
}

/** A user-supplied name, quoted and shortened for an error message. */
function quoted(text: string): string {
  const chars = [...text];
  return JSON.stringify(chars.length > 40 ? `${chars.slice(0, 40).join('')}…` : text);
}

function failure(code: ChatErrorCode, message: string): Executed {
  return { outcome: { ok: false, code, message, replayed: false }, stored: { ok: false, code, message } };
}

function notAuthenticated(userId: AccountId): Executed {
  return failure('UNAUTHENTICATED', `account ${userId} does not exist or has been deleted; log in again`);
}

function toAccount(row: AccountRow): AccountRecord {
  return { id: row.id, username: row.username, passwordHash: row.password_hash, createdAt: row.created_at };
}

function toMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    senderId: row.sender_id,
    recipientId: row.recipient_id,
    sender: row.sender,
    recipient: row.recipient,
    text: row.text,
    sentAt: row.sent_at,
    read: row.is_read === 1,
    senderDeleted: row.sender_deleted === 1,
  };
}

/** Collects message ids per user and renders them as notices: the caller first, then by user id. */
class NoticeBuilder {
  private readonly byUser = new Map<AccountId, MessageId[]>();

  constructor(private readonly first: AccountId) {}

  add(userId: AccountId, id: MessageId): void {
    const ids = this.byUser.get(userId);
    if (ids) ids.push(id);
    else this.byUser.set(userId, [id]);
  }

  build(): DeletionNotice[] {
    const users = [...this.byUser.keys()].sort((a, b) => (a === this.first ? -1 : b === this.first ? 1 : a - b));
    return users.map((userId) => ({ userId, ids: [...new Set(this.byUser.get(userId))].sort((a, b) => a - b) }));
  }
}

/** Why an op is malformed (wrong field types), or undefined when its shape is sound. */
function shapeProblem(op: ChatOp): string | undefined {
  if (typeof op !== 'object' || op === null) return 'the operation is not an object';
  if (!OP_TYPES.includes(op.type)) return `unknown operation type ${JSON.stringify(String(op.type))}`;
  if (!isSafeInt(op.at) || op.at < 0) return 'the operation time must be a non-negative integer (ms)';
  if (typeof op.key !== 'string') return 'the idempotency key must be text';
  switch (op.type) {
    case 'createAccount':
      if (typeof op.username !== 'string') return 'the username must be text';
      if (typeof op.passwordHash !== 'string' || op.passwordHash === '') return 'the password hash is missing';
      return undefined;
    case 'login':
    case 'logout':
      if (!isSafeId(op.userId)) return 'the user id must be a positive integer';
      if (typeof op.tokenHash !== 'string' || op.tokenHash === '') return 'the session token hash is missing';
      return undefined;
    case 'sendMessage':
      if (!isSafeId(op.senderId)) return 'the sender id must be a positive integer';
      if (typeof op.recipient !== 'string') return 'the recipient must be text';
      if (typeof op.text !== 'string') return 'the message text must be text';
      return undefined;
    case 'fetchUnread':
      if (!isSafeId(op.userId)) return 'the user id must be a positive integer';
      if (typeof op.limit !== 'number') return 'the limit must be a number';
      return undefined;
    case 'markRead':
      if (!isSafeId(op.userId)) return 'the user id must be a positive integer';
      if (typeof op.peer !== 'string') return 'the peer must be text';
      if (typeof op.upToId !== 'number') return 'the message id must be a number';
      return undefined;
    case 'deleteMessages':
      if (!isSafeId(op.userId)) return 'the user id must be a positive integer';
      if (!Array.isArray(op.ids)) return 'the message ids must be a list';
      return undefined;
    case 'deleteAccount':
      if (!isSafeId(op.userId)) return 'the user id must be a positive integer';
      return undefined;
  }
}

/** The idempotency scope of an op: the lowered username for createAccount, the user id otherwise. */
function scopeOf(op: ChatOp): string {
  switch (op.type) {
    case 'createAccount':
      return `name:${usernameKey(op.username)}`;
    case 'sendMessage':
      return `user:${op.senderId}`;
    default:
      return `user:${op.userId}`;
  }
}

type Stmt<P extends unknown[], R = unknown> = Statement<P, R>;

/**
 * The deterministic chat state machine over the chat tables of one SQLite
 * database (already migrated). `apply` uses only the op and its log index:
 * no clock, no randomness.
 */
export class ChatState implements ChatStateApi {
  private readonly applyInTransaction: (op: ChatOp, index: number) => ApplyOutcome;
  private readonly importInTransaction: (data: Buffer) => void;

  private readonly s: {
    idempotencyGet: Stmt<[string, string], IdempotencyRow>;
    idempotencyPut: Stmt<[string, string, string, number, string]>;
    idempotencyUpdate: Stmt<[string, string, string]>;
    idempotencyPrune: Stmt<[number]>;
    counterTake: Stmt<[string], number>;
    liveAccountByKey: Stmt<[string], AccountRow>;
    liveAccountById: Stmt<[number], AccountRow>;
    liveNameById: Stmt<[number], string>;
    liveIdNameByKey: Stmt<[string], { id: number; username: string }>;
    latestAccountByKey: Stmt<[string], PeerRow>;
    accountUnread: Stmt<[number], number>;
    insertAccount: Stmt<[number, string, string, string, number]>;
    markAccountDeleted: Stmt<[number, number]>;
    addUnread: Stmt<[number, number]>;
    sessionOwner: Stmt<[string], number>;
    insertSession: Stmt<[string, number, number]>;
    deleteSession: Stmt<[string, number]>;
    deleteUserSessions: Stmt<[number]>;
    insertMessage: Stmt<[number, number, number, string, number, number | null]>;
    messageState: Stmt<[number], MessageStateRow>;
    messageById: Stmt<[number], MessageRow>;
    oldestUnread: Stmt<[number, number], number>;
    markUnreadUpTo: Stmt<[number, number, number]>;
    markPeerUnreadUpTo: Stmt<[number, number, number, number]>;
    deleteMessage: Stmt<[number]>;
    hideForSender: Stmt<[number]>;
    hideForRecipient: Stmt<[number]>;
    deleteReceived: Stmt<[number], { id: number; sender_id: number; hidden_for_sender: number; hidden_for_recipient: number }>;
    withdrawUnreadSent: Stmt<
      [number],
      { id: number; recipient_id: number; hidden_for_sender: number; hidden_for_recipient: number }
    >;
    hideAllSent: Stmt<[number], number>;
    deleteHiddenSent: Stmt<[number]>;
    sessionAccount: Stmt<[string], AccountRow>;
    listAccounts: Stmt<[string, string, number], { id: number; username: string }>;
    latestAccountById: Stmt<[number], PeerRow>;
    conversationPeers: Stmt<[{ user: number }], { peer_id: number; last_id: number }>;
    unreadFromPeer: Stmt<[number, number], number>;
    history: Stmt<[{ user: number; peer: number; before: number; limit: number }], MessageRow>;
    messagesAfter: Stmt<[{ user: number; after: number; limit: number }], MessageRow>;
  };
  private readonly dumps: { tag: DumpTag; stmt: Stmt<[], Cell[]> }[];
  private readonly clears: Stmt<[]>[];
  private readonly chatIndexes: Stmt<[], { name: string; sql: string }>;
  private readonly imports: Record<DumpTag, Stmt<Cell[]>>;

  constructor(private readonly db: Database) {
    const p = <P extends unknown[], R = unknown>(sql: string): Stmt<P, R> => db.prepare<P, R>(sql);
    const w = WRITE_PATH_SQL;
    this.s = {
      idempotencyGet: p(w.idempotencyGet),
      idempotencyPut: p(w.idempotencyPut),
      idempotencyUpdate: p(w.idempotencyUpdate),
      idempotencyPrune: p(w.idempotencyPrune),
      counterTake: p<[string], number>(w.counterTake).pluck(),
      liveAccountByKey: p(w.liveAccountByKey),
      liveAccountById: p(w.liveAccountById),
      liveNameById: p<[number], string>(w.liveNameById).pluck(),
      liveIdNameByKey: p(w.liveIdNameByKey),
      latestAccountByKey: p(w.latestAccountByKey),
      accountUnread: p<[number], number>(w.accountUnread).pluck(),
      insertAccount: p(w.insertAccount),
      markAccountDeleted: p(w.markAccountDeleted),
      addUnread: p(w.addUnread),
      sessionOwner: p<[string], number>(w.sessionOwner).pluck(),
      insertSession: p(w.insertSession),
      deleteSession: p(w.deleteSession),
      deleteUserSessions: p(w.deleteUserSessions),
      insertMessage: p(w.insertMessage),
      messageState: p(w.messageState),
      messageById: p(w.messageById),
      oldestUnread: p<[number, number], number>(w.oldestUnread).pluck(),
      markUnreadUpTo: p(w.markUnreadUpTo),
      markPeerUnreadUpTo: p(w.markPeerUnreadUpTo),
      deleteMessage: p(w.deleteMessage),
      hideForSender: p(w.hideForSender),
      hideForRecipient: p(w.hideForRecipient),
      deleteReceived: p(w.deleteReceived),
      withdrawUnreadSent: p(w.withdrawUnreadSent),
      hideAllSent: p<[number], number>(w.hideAllSent).pluck(),
      deleteHiddenSent: p(w.deleteHiddenSent),
      sessionAccount: p(READ_SQL.sessionAccount),
      listAccounts: p(READ_SQL.listAccounts),
      latestAccountById: p(READ_SQL.latestAccountById),
      conversationPeers: p(READ_SQL.conversationPeers),
      unreadFromPeer: p<[number, number], number>(READ_SQL.unreadFromPeer).pluck(),
      history: p(READ_SQL.history),
      messagesAfter: p(READ_SQL.messagesAfter),
    };
    this.dumps = DUMPS.map((d) => ({ tag: d.tag, stmt: p<[], Cell[]>(d.sql).raw() }));
    this.clears = CLEAR_ORDER.map((table) => p<[]>(`DELETE FROM ${table}`));
    this.chatIndexes = p<[], { name: string; sql: string }>(
      `SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL
         AND tbl_name IN (${CLEAR_ORDER.map((t) => `'${t}'`).join(', ')}) ORDER BY name`,
    );
    this.imports = {
      c: p<Cell[]>(IMPORT_SQL.c),
      a: p<Cell[]>(IMPORT_SQL.a),
      s: p<Cell[]>(IMPORT_SQL.s),
      m: p<Cell[]>(IMPORT_SQL.m),
      i: p<Cell[]>(IMPORT_SQL.i),
    };
    this.applyInTransaction = db.transaction((op: ChatOp, index: number) => this.applyOp(op, index));
    this.importInTransaction = db.transaction((data: Buffer) => this.importRows(data));
  }

  // ---------------------------------------------------------------- apply

  /**
   * Applies one op. Outside a transaction the op gets one of its own. Inside
   * the caller's (the replica applies a committed batch in the transaction
   * that persists it) it runs directly in it, without a savepoint per op (two
   * more statements and a copy of every page the op touches): a throw from
   * here must end the caller's transaction, as it does when it propagates out
   * of `db.transaction`.
   */
  apply(op: ChatOp, index: number): ApplyOutcome {
    return this.db.inTransaction ? this.applyOp(op, index) : this.applyInTransaction(op, index);
  }

  private applyOp(op: ChatOp, index: number): ApplyOutcome {
    const problem = shapeProblem(op);
    if (isSafeInt(index) && index % IDEMPOTENCY_PRUNE_EVERY === 0 && isSafeInt(op?.at)) {
      this.s.idempotencyPrune.run(op.at - IDEMPOTENCY_RETENTION_MS);
    }
    if (problem) return { ok: false, code: 'INVALID_ARGUMENT', message: `malformed operation: ${problem}`, replayed: false };
    const keyProblem = validateIdempotencyKey(op.key);
    if (keyProblem) return { ok: false, code: 'INVALID_ARGUMENT', message: keyProblem, replayed: false };

    const scope = op.key === '' ? '' : scopeOf(op);
    if (op.key !== '') {
      const seen = this.s.idempotencyGet.get(scope, op.key);
      if (seen) return this.replay(op, scope, seen);
    }
    const executed = this.execute(op);
    if (op.key !== '') {
      this.s.idempotencyPut.run(scope, op.key, op.type, op.at, JSON.stringify(executed.stored));
    }
    return executed.outcome;
  }

  private execute(op: ChatOp): Executed {
    switch (op.type) {
      case 'createAccount':
        return this.createAccount(op);
      case 'login':
        return this.login(op);
      case 'logout':
        return this.logout(op);
      case 'sendMessage':
        return this.sendMessage(op);
      case 'fetchUnread':
        return this.fetchUnread(op);
      case 'markRead':
        return this.markRead(op);
      case 'deleteMessages':
        return this.deleteMessages(op);
      case 'deleteAccount':
        return this.deleteAccount(op);
    }
  }

  private replay(op: ChatOp, scope: string, seen: IdempotencyRow): ApplyOutcome {
    if (seen.op_type !== op.type) {
      return {
        ok: false,
        code: 'FAILED_PRECONDITION',
        message: `the idempotency key ${quoted(op.key)} was already used for a different request (${seen.op_type}); use a new key for each request`,
        replayed: false,
      };
    }
    const stored = JSON.parse(seen.outcome) as StoredOutcome;
    if (!stored.ok) return { ok: false, code: stored.code, message: stored.message, replayed: true };
    const ok = (result: OpResult): ApplyOutcome => ({ ok: true, result, replayed: true });
    switch (stored.type) {
      case 'createAccount':
        return ok({ type: 'createAccount', userId: stored.userId, username: stored.username });
      case 'login':
        if (op.type === 'login' && op.tokenHash !== stored.tokenHash) this.moveReplayedSession(op, scope, stored);
        return ok({ type: 'login', userId: stored.userId, username: stored.username, unreadCount: stored.unreadCount });
      case 'logout':
        return ok({ type: 'logout' });
      case 'sendMessage': {
        const message = this.messageById(stored.id) ?? this.withdrawnMessage(op, stored);
        return ok({ type: 'sendMessage', message });
      }
      case 'fetchUnread': {
        const messages: StoredMessage[] = [];
        for (const id of stored.ids) {
          const message = this.messageById(id);
          if (message) messages.push(message);
        }
        return ok({ type: 'fetchUnread', messages, remaining: stored.remaining });
      }
      case 'markRead':
        return ok({ type: 'markRead', marked: stored.marked });
      case 'deleteMessages':
        return ok({ type: 'deleteMessages', deletedIds: stored.deletedIds, notices: stored.notices });
      case 'deleteAccount':
        // The deletions were announced when the op first applied.
        return ok({ type: 'deleteAccount', userId: stored.userId, notices: [] });
    }
  }

  /**
   * A retried login carries a fresh token (a new leader made it; the first token
   * never reached the client). Without a session for it the retry's answer would
   * be useless, so the session moves from the first token to the new one.
   */
  private moveReplayedSession(op: LoginOp, scope: string, stored: Extract<StoredOutcome, { type: 'login' }>): void {
    if (!this.isLive(stored.userId)) return;
    if (this.s.sessionOwner.get(op.tokenHash) !== undefined) return;
    this.s.deleteSession.run(stored.tokenHash, stored.userId);
    this.s.insertSession.run(op.tokenHash, stored.userId, op.at);
    this.s.idempotencyUpdate.run(JSON.stringify({ ...stored, tokenHash: op.tokenHash }), scope, op.key);
  }

  /** The answer to a retried send whose message has since been deleted by both sides. */
  private withdrawnMessage(op: ChatOp, stored: Extract<StoredOutcome, { type: 'sendMessage' }>): StoredMessage {
    const senderId = op.type === 'sendMessage' ? op.senderId : 0;
    const sender = this.s.latestAccountById.get(senderId);
    const recipient = this.s.latestAccountById.get(stored.recipientId);
    return {
      id: stored.id,
      senderId,
      recipientId: stored.recipientId,
      sender: sender?.username ?? '',
      recipient: recipient?.username ?? '',
      text: op.type === 'sendMessage' ? normalizeMessageText(op.text) : '',
      sentAt: stored.sentAt,
      read: stored.read,
      senderDeleted: sender?.deleted_at != null,
    };
  }

  /** A live (not deleted) account has this id. */
  private isLive(id: AccountId): boolean {
    return this.s.liveNameById.get(id) !== undefined;
  }

  /** Takes the counter's value and moves it on, in one statement. */
  private nextId(counter: string): number {
    const taken = this.s.counterTake.get(counter);
    if (taken === undefined) throw new Error(`chat counter ${counter} is missing; the chat tables are damaged`);
    return taken;
  }

  private createAccount(op: CreateAccountOp): Executed {
    const problem = validateUsername(op.username);
    if (problem) return failure('INVALID_ARGUMENT', problem);
    const key = usernameKey(op.username);
    if (this.s.liveAccountByKey.get(key)) {
      return failure('ALREADY_EXISTS', `the username ${quoted(op.username)} is taken; choose another`);
    }
    const id = this.nextId(COUNTER_NEXT_ACCOUNT_ID);
    this.s.insertAccount.run(id, op.username, key, op.passwordHash, op.at);
    return {
      outcome: { ok: true, result: { type: 'createAccount', userId: id, username: op.username }, replayed: false },
      stored: { ok: true, type: 'createAccount', userId: id, username: op.username },
    };
  }

  private login(op: LoginOp): Executed {
    const account = this.s.liveAccountById.get(op.userId);
    if (!account) return failure('NOT_FOUND', `account ${op.userId} no longer exists`);
    const owner = this.s.sessionOwner.get(op.tokenHash);
    if (owner !== undefined && owner !== op.userId) {
      return failure('FAILED_PRECONDITION', 'this session token is already in use; log in again for a new one');
    }
    if (owner === undefined) this.s.insertSession.run(op.tokenHash, op.userId, op.at);
    const unreadCount = this.s.accountUnread.get(op.userId) ?? 0;
    return {
      outcome: {
        ok: true,
        result: { type: 'login', userId: account.id, username: account.username, unreadCount },
        replayed: false,
      },
      stored: { ok: true, type: 'login', userId: account.id, username: account.username, unreadCount, tokenHash: op.tokenHash },
    };
  }

  private logout(op: LogoutOp): Executed {
    this.s.deleteSession.run(op.tokenHash, op.userId);
    return { outcome: { ok: true, result: { type: 'logout' }, replayed: false }, stored: { ok: true, type: 'logout' } };
  }

  private sendMessage(op: SendMessageOp): Executed {
    const senderName = this.s.liveNameById.get(op.senderId);
    if (senderName === undefined) return notAuthenticated(op.senderId);
    const problem = validateMessageText(op.text);
    if (problem) return failure('INVALID_ARGUMENT', problem);
    const recipient = this.s.liveIdNameByKey.get(usernameKey(op.recipient));
    if (!recipient) return failure('NOT_FOUND', `no account named ${quoted(op.recipient)}`);
    const text = normalizeMessageText(op.text);
    const id = this.nextId(COUNTER_NEXT_MESSAGE_ID);
    const toSelf = recipient.id === op.senderId;
    // A note to self is read the moment it is written.
    const readAt = toSelf ? op.at : null;
    this.s.insertMessage.run(id, op.senderId, recipient.id, text, op.at, readAt);
    if (!toSelf) this.s.addUnread.run(1, recipient.id);
    const message: StoredMessage = {
      id,
      senderId: op.senderId,
      recipientId: recipient.id,
      sender: senderName,
      recipient: recipient.username,
      text,
      sentAt: op.at,
      read: toSelf,
      senderDeleted: false,
    };
    return {
      outcome: { ok: true, result: { type: 'sendMessage', message }, replayed: false },
      stored: { ok: true, type: 'sendMessage', id, recipientId: recipient.id, sentAt: op.at, read: toSelf },
    };
  }

  private fetchUnread(op: FetchUnreadOp): Executed {
    if (!Number.isInteger(op.limit) || op.limit < FETCH_LIMIT_MIN || op.limit > FETCH_LIMIT_MAX) {
      return failure('INVALID_ARGUMENT', `the limit must be a whole number from ${FETCH_LIMIT_MIN} to ${FETCH_LIMIT_MAX}`);
    }
    if (!this.isLive(op.userId)) return notAuthenticated(op.userId);
    const ids = this.s.oldestUnread.all(op.userId, op.limit);
    const last = ids.at(-1);
    if (last !== undefined) {
      // The oldest `limit` unread messages are exactly the unread ones with id <= the last of them.
      const marked = this.s.markUnreadUpTo.run(op.at, op.userId, last).changes;
      this.s.addUnread.run(-marked, op.userId);
    }
    const messages: StoredMessage[] = [];
    for (const id of ids) {
      const message = this.messageById(id);
      if (message) messages.push(message);
    }
    const remaining = this.s.accountUnread.get(op.userId) ?? 0;
    return {
      outcome: { ok: true, result: { type: 'fetchUnread', messages, remaining }, replayed: false },
      stored: { ok: true, type: 'fetchUnread', ids, remaining },
    };
  }

  private markRead(op: MarkReadOp): Executed {
    if (!isSafeInt(op.upToId) || op.upToId < 0) {
      return failure('INVALID_ARGUMENT', 'the message id to mark read up to must be a whole number, 0 or more');
    }
    if (!this.isLive(op.userId)) return notAuthenticated(op.userId);
    const peer = this.s.latestAccountByKey.get(usernameKey(op.peer));
    if (!peer) return failure('NOT_FOUND', `no account named ${quoted(op.peer)}`);
    const marked = this.s.markPeerUnreadUpTo.run(op.at, op.userId, peer.id, op.upToId).changes;
    if (marked > 0) this.s.addUnread.run(-marked, op.userId);
    return {
      outcome: { ok: true, result: { type: 'markRead', marked }, replayed: false },
      stored: { ok: true, type: 'markRead', marked },
    };
  }

  private deleteMessages(op: DeleteMessagesOp): Executed {
    if (op.ids.length < DELETE_IDS_MIN || op.ids.length > DELETE_IDS_MAX) {
      return failure('INVALID_ARGUMENT', `give from ${DELETE_IDS_MIN} to ${DELETE_IDS_MAX} message ids (got ${op.ids.length})`);
    }
    const badId = op.ids.find((id) => !isSafeId(id));
    if (badId !== undefined) {
      return failure('INVALID_ARGUMENT', `message ids are positive whole numbers; ${JSON.stringify(badId)} is not one`);
    }
    const user = op.userId;
    if (!this.isLive(user)) return notAuthenticated(user);
    const ids = [...new Set(op.ids)];
    const rows: MessageStateRow[] = [];
    for (const id of ids) {
      const row = this.s.messageState.get(id);
      const visible =
        row !== undefined &&
        ((row.sender_id === user && row.hidden_for_sender === 0) ||
          (row.recipient_id === user && row.hidden_for_recipient === 0));
      if (!row || !visible) {
        return failure('NOT_FOUND', `message ${id} is not among your messages; nothing was deleted`);
      }
      rows.push(row);
    }
    const notices = new NoticeBuilder(user);
    for (const row of rows) {
      notices.add(user, row.id);
      if (row.sender_id === user && row.recipient_id === user) {
        this.s.deleteMessage.run(row.id);
      } else if (row.sender_id === user) {
        if (row.read_at === null) {
          // Unread: withdrawn from the recipient too.
          this.s.deleteMessage.run(row.id);
          if (row.hidden_for_recipient === 0) {
            this.s.addUnread.run(-1, row.recipient_id);
            notices.add(row.recipient_id, row.id);
          }
        } else if (row.hidden_for_recipient === 1) {
          this.s.deleteMessage.run(row.id);
        } else {
          this.s.hideForSender.run(row.id);
        }
      } else {
        if (row.read_at === null) this.s.addUnread.run(-1, user);
        if (row.hidden_for_sender === 1) this.s.deleteMessage.run(row.id);
        else this.s.hideForRecipient.run(row.id);
      }
    }
    const deletedIds = ids.sort((a, b) => a - b);
    const built = notices.build();
    return {
      outcome: { ok: true, result: { type: 'deleteMessages', deletedIds, notices: built }, replayed: false },
      stored: { ok: true, type: 'deleteMessages', deletedIds, notices: built },
    };
  }

  private deleteAccount(op: DeleteAccountOp): Executed {
    const user = op.userId;
    if (!this.isLive(user)) return failure('NOT_FOUND', `account ${user} does not exist or was already deleted`);
    const notices = new NoticeBuilder(user);
    this.s.deleteUserSessions.run(user);
    // Everything it received goes, notes to self included.
    for (const row of this.s.deleteReceived.all(user)) {
      const selfNote = row.sender_id === user;
      if (row.hidden_for_recipient === 0 || (selfNote && row.hidden_for_sender === 0)) notices.add(user, row.id);
      if (!selfNote && row.hidden_for_sender === 0) notices.add(row.sender_id, row.id);
    }
    // What it sent and nobody has read yet is withdrawn.
    for (const row of this.s.withdrawUnreadSent.all(user)) {
      if (row.hidden_for_sender === 0) notices.add(user, row.id);
      if (row.hidden_for_recipient === 0) {
        notices.add(row.recipient_id, row.id);
        this.s.addUnread.run(-1, row.recipient_id);
      }
    }
    // What it sent and was read stays for the recipients; the deleted account sees nothing.
    for (const id of this.s.hideAllSent.all(user)) notices.add(user, id);
    this.s.deleteHiddenSent.run(user);
    this.s.markAccountDeleted.run(op.at, user);
    return {
      outcome: { ok: true, result: { type: 'deleteAccount', userId: user, notices: notices.build() }, replayed: false },
      stored: { ok: true, type: 'deleteAccount', userId: user },
    };
  }

  // ---------------------------------------------------------------- queries

  accountByName(username: string): AccountRecord | undefined {
    const row = this.s.liveAccountByKey.get(usernameKey(username));
    return row && toAccount(row);
  }

  accountById(id: AccountId): AccountRecord | undefined {
    if (!isSafeInt(id)) return undefined;
    const row = this.s.liveAccountById.get(id);
    return row && toAccount(row);
  }

  peerByName(username: string): PeerRecord | undefined {
    const row = this.s.latestAccountByKey.get(usernameKey(username));
    return row && { id: row.id, username: row.username, deleted: row.deleted_at !== null };
  }

  sessionAccount(tokenHash: string): AccountRecord | undefined {
    const row = this.s.sessionAccount.get(tokenHash);
    return row && toAccount(row);
  }

  listAccounts(pattern: string, after: string | undefined, limit: number): AccountPage {
    const pageSize = Number.isSafeInteger(limit) && limit > 0 ? limit : 1;
    const rows = this.s.listAccounts.all(wildcardToGlob(pattern), after === undefined ? '' : usernameKey(after), pageSize + 1);
    const accounts = rows.slice(0, pageSize).map((r) => ({ id: r.id, username: r.username }));
    return { accounts, nextAfter: rows.length > pageSize ? accounts.at(-1)?.username : undefined };
  }

  unreadCount(userId: AccountId): number {
    return this.isLive(userId) ? (this.s.accountUnread.get(userId) ?? 0) : 0;
  }

  conversations(userId: AccountId): ConversationRecord[] {
    const out: ConversationRecord[] = [];
    for (const { peer_id, last_id } of this.s.conversationPeers.all({ user: userId })) {
      const peer = this.s.latestAccountById.get(peer_id);
      const lastMessage = this.messageById(last_id);
      if (!peer || !lastMessage) continue;
      out.push({
        peer: peer.username,
        peerId: peer.id,
        peerDeleted: peer.deleted_at !== null,
        lastMessage,
        unreadCount: this.s.unreadFromPeer.get(userId, peer_id) ?? 0,
      });
    }
    return out;
  }

  history(
    userId: AccountId,
    peer: AccountId,
    beforeId: MessageId,
    limit: number,
  ): { messages: StoredMessage[]; hasMore: boolean } {
    const pageSize = Number.isSafeInteger(limit) && limit > 0 ? limit : 1;
    const before = beforeId > 0 ? beforeId : Number.MAX_SAFE_INTEGER;
    const rows = this.s.history.all({ user: userId, peer, before, limit: pageSize + 1 }).map(toMessage);
    const hasMore = rows.length > pageSize;
    return { messages: hasMore ? rows.slice(1) : rows, hasMore };
  }

  messagesAfter(userId: AccountId, afterId: MessageId, limit: number): StoredMessage[] {
    const pageSize = Number.isSafeInteger(limit) && limit > 0 ? limit : 1;
    return this.s.messagesAfter.all({ user: userId, after: Math.max(0, afterId), limit: pageSize }).map(toMessage);
  }

  messageById(id: MessageId): StoredMessage | undefined {
    if (!isSafeInt(id)) return undefined;
    const row = this.s.messageById.get(id);
    return row && toMessage(row);
  }

  // ---------------------------------------------------------------- snapshots

  /** Every row of every chat table as canonical JSON lines, in a fixed order. */
  private *lines(): Generator<string> {
    for (const { tag, stmt } of this.dumps) {
      for (const row of stmt.iterate()) yield JSON.stringify([tag, ...row]) + '\n';
    }
  }

  digest(): string {
    const hash = createHash('sha256').update(DIGEST_HEADER);
    let pending = '';
    for (const line of this.lines()) {
      pending += line;
      if (pending.length >= 1 << 16) {
        hash.update(pending);
        pending = '';
      }
    }
    return hash.update(pending).digest('hex');
  }

  /**
   * Format: the magic `CHATST01`, then frames of (u32 big-endian length, gzip of
   * JSON lines). The last line is `["end", rows, digest]`; the digest is the
   * same as `digest()` of the exported state.
   */
  exportState(): Buffer {
    const hash = createHash('sha256').update(DIGEST_HEADER);
    const frames: Buffer[] = [SNAPSHOT_MAGIC];
    let pending: string[] = [];
    let pendingBytes = 0;
    let rows = 0;
    const flush = (): void => {
      if (pending.length === 0) return;
      const packed = gzipSync(Buffer.from(pending.join(''), 'utf8'));
      const length = Buffer.alloc(4);
      length.writeUInt32BE(packed.length);
      frames.push(length, packed);
      pending = [];
      pendingBytes = 0;
    };
    for (const line of this.lines()) {
      hash.update(line);
      rows++;
      pending.push(line);
      pendingBytes += line.length;
      if (pendingBytes >= SNAPSHOT_FRAME_BYTES) flush();
    }
    pending.push(JSON.stringify(['end', rows, hash.digest('hex')]) + '\n');
    flush();
    return Buffer.concat(frames);
  }

  importState(data: Buffer): void {
    this.importInTransaction(data);
  }

  private importRows(data: Buffer): void {
    if (data.length < SNAPSHOT_MAGIC.length || !data.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) {
      throw importError('not a chat state snapshot (wrong header)');
    }
    // Bulk loading is about twice as fast with the secondary indexes built afterwards
    // (one sort each instead of a b-tree insert per row). The definitions are read
    // from the schema, so later migrations are covered; a failure rolls all of it back.
    const indexes = this.chatIndexes.all();
    for (const index of indexes) this.db.exec(`DROP INDEX ${quoteIdentifier(index.name)}`);
    for (const clear of this.clears) clear.run();
    this.loadRows(data);
    for (const index of indexes) this.db.exec(index.sql);
  }

  private loadRows(data: Buffer): void {
    const bad = importError;
    const hash = createHash('sha256').update(DIGEST_HEADER);
    let rows = 0;
    let ended = false;
    let offset = SNAPSHOT_MAGIC.length;
    while (offset < data.length) {
      if (ended) throw bad('data after the end record');
      if (offset + 4 > data.length) throw bad('truncated frame header');
      const length = data.readUInt32BE(offset);
      offset += 4;
      if (offset + length > data.length) throw bad('truncated frame');
      let text: string;
      try {
        text = gunzipSync(data.subarray(offset, offset + length)).toString('utf8');
      } catch (err) {
        throw bad(`corrupt frame (${(err as Error).message})`);
      }
      offset += length;
      let start = 0;
      while (start < text.length) {
        const end = text.indexOf('\n', start);
        if (end < 0) throw bad('a frame ends inside a line');
        const line = text.slice(start, end + 1);
        start = end + 1;
        if (ended) throw bad('data after the end record');
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          throw bad(`unreadable line after ${rows} rows`);
        }
        if (!Array.isArray(parsed) || parsed.length === 0) throw bad(`unreadable line after ${rows} rows`);
        const [tag, ...cells] = parsed as unknown[];
        if (tag === 'end') {
          const digest = hash.digest('hex');
          if (cells[0] !== rows || cells[1] !== digest) {
            throw bad(`the content does not match its end record (${rows} rows read)`);
          }
          ended = true;
          continue;
        }
        if (typeof tag !== 'string' || !(tag in ROW_SHAPES)) throw bad(`unknown row kind ${JSON.stringify(tag)}`);
        const shape = ROW_SHAPES[tag as DumpTag];
        if (cells.length !== shape.length || !cells.every((cell, i) => cellFits(cell, shape[i]!))) {
          throw bad(`malformed ${tag} row after ${rows} rows`);
        }
        hash.update(line);
        rows++;
        const values = cells as Cell[];
        if (tag === 'a') values.push(usernameKey(values[1] as string));
        this.imports[tag as DumpTag].run(...values);
      }
    }
    if (!ended) throw bad('the snapshot is truncated (no end record)');
  }
}

function importError(why: string): Error {
  return new Error(`cannot import chat state: ${why}`);
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function cellFits(cell: unknown, kind: 'int' | 'int?' | 'str' | 'flag'): boolean {
  switch (kind) {
    case 'int':
      return isSafeInt(cell);
    case 'int?':
      return cell === null || isSafeInt(cell);
    case 'str':
      return typeof cell === 'string';
    case 'flag':
      return cell === 0 || cell === 1;
  }
}
