/**
 * The SQL of the chat state machine and its setup: every statement the write
 * path (applying ops) and the read paths (RPCs, streams) run, with the rows they
 * return, prepared once per connection.
 */
import type { Database, Statement } from 'better-sqlite3';

export interface AccountRow {
  id: number;
  username: string;
  password_hash: string;
  created_at: number;
}

export interface PeerRow {
  id: number;
  username: string;
  deleted_at: number | null;
}

export interface MessageStateRow {
  id: number;
  sender_id: number;
  recipient_id: number;
  read_at: number | null;
  hidden_for_sender: number;
  hidden_for_recipient: number;
}

export interface MessageRow {
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

export interface IdempotencyRow {
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
  // `(read_at IS NULL) = 1` names the inbox index's third key as written there (plain `read_at IS NULL` is not matched to it).
  oldestUnread:
    'SELECT id FROM chat_messages WHERE recipient_id = ? AND hidden_for_recipient = 0 AND (read_at IS NULL) = 1 ORDER BY id LIMIT ?',
  markUnreadUpTo:
    'UPDATE chat_messages SET read_at = ? WHERE recipient_id = ? AND hidden_for_recipient = 0 AND (read_at IS NULL) = 1 AND id <= ?',
  markPeerUnreadUpTo:
    'UPDATE chat_messages SET read_at = ? WHERE recipient_id = ? AND sender_id = ? AND read_at IS NULL AND hidden_for_recipient = 0 AND id <= ?',
  deleteMessage: 'DELETE FROM chat_messages WHERE id = ?',
  hideForSender: 'UPDATE chat_messages SET hidden_for_sender = 1 WHERE id = ?',
  hideForRecipient: 'UPDATE chat_messages SET hidden_for_recipient = 1 WHERE id = ?',
  deleteReceived:
    'DELETE FROM chat_messages WHERE recipient_id = ? RETURNING id, sender_id, hidden_for_sender, hidden_for_recipient',
  withdrawUnreadSent:
    'DELETE FROM chat_messages WHERE sender_id = ? AND read_at IS NULL RETURNING id, recipient_id, hidden_for_sender, hidden_for_recipient',
  hideAllSent:
    'UPDATE chat_messages SET hidden_for_sender = 1 WHERE sender_id = ? AND hidden_for_sender = 0 RETURNING id',
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
  // Three ranges by id, merged: what the user sent, and what it received unread and read (the two
  // parts of the inbox index).
  messagesAfter: `WITH ids AS (
      SELECT id FROM (SELECT id FROM chat_messages
        WHERE sender_id = @user AND hidden_for_sender = 0 AND id > @after ORDER BY id LIMIT @limit)
      UNION
      SELECT id FROM (SELECT id FROM chat_messages
        WHERE recipient_id = @user AND hidden_for_recipient = 0 AND (read_at IS NULL) = 1 AND id > @after ORDER BY id LIMIT @limit)
      UNION
      SELECT id FROM (SELECT id FROM chat_messages
        WHERE recipient_id = @user AND hidden_for_recipient = 0 AND (read_at IS NULL) = 0 AND id > @after ORDER BY id LIMIT @limit)
      ORDER BY id LIMIT @limit)
    SELECT ${MESSAGE_COLUMNS} FROM ids JOIN chat_messages m ON m.id = ids.id ${MESSAGE_JOINS} ORDER BY m.id`,
} as const;

export type Stmt<P extends unknown[], R = unknown> = Statement<P, R>;

/** Every statement of the write and read paths, prepared once per connection. */
export interface ChatStatements {
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
  deleteReceived: Stmt<
    [number],
    { id: number; sender_id: number; hidden_for_sender: number; hidden_for_recipient: number }
  >;
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
}

/** Prepares every statement of WRITE_PATH_SQL and READ_SQL on `db` (its chat tables must exist). */
export function prepareStatements(db: Database): ChatStatements {
  const p = <P extends unknown[], R = unknown>(sql: string): Stmt<P, R> => db.prepare<P, R>(sql);
  const w = WRITE_PATH_SQL;
  return {
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
}
