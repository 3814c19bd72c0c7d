import type { Migration } from '../sqlite/migrations.js';

/** Names of the chat tables, in the order they are dumped, exported and digested. */
export const CHAT_TABLES = [
  'chat_counters',
  'chat_accounts',
  'chat_sessions',
  'chat_messages',
  'chat_idempotency',
] as const;

/** Counter names in chat_counters. */
export const COUNTER_NEXT_ACCOUNT_ID = 'next_account_id';
export const COUNTER_NEXT_MESSAGE_ID = 'next_message_id';

/**
 * The chat tables. Every write-path statement of the state machine is served by
 * one of these indexes (see test/chat/query-plans.test.ts). Each index costs a
 * b-tree insert and a page written per message, so the messages have four, and
 * none repeats the message id: an index on a rowid table ends with the rowid
 * (the id) anyway, which orders a range and bounds it (`id < ?`).
 *
 * - chat_accounts_live_name: unique live name, lookup by name, listing in name order.
 * - chat_accounts_name: the most recent account with a name, deleted ones included.
 * - chat_messages_pair: one direction of a conversation, by id (history, the last message of a
 *   conversation), and the distinct peers a user wrote to (conversations).
 * - chat_messages_sent: what a user sent and still sees, by id (streams), and all it sent
 *   (account deletion).
 * - chat_messages_inbox: what a user received and still sees, unread ones apart (`read_at IS
 *   NULL` is the third key), each part by id: the unread ones oldest first (fetchUnread), all of
 *   them by id (streams, as the two parts merged), everything received (account deletion).
 *   It replaced chat_messages_recipient and chat_messages_unread, which held the same (migration 4).
 * - chat_messages_inbox_pair: a user's received messages by sender, visibility and read state:
 *   the distinct peers who wrote to the user (conversations) and the unread visible messages from
 *   one peer (markRead, per-peer unread counts). It replaced chat_messages_unread_pair (the same
 *   columns, unread visible rows only), which could not list peers (migration 3).
 */
export const CHAT_MIGRATIONS: readonly Migration[] = [
  {
    version: 2,
    name: 'chat tables',
    up: (db) => {
      db.exec(`
        CREATE TABLE chat_counters (
          name  TEXT PRIMARY KEY,
          value INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        INSERT INTO chat_counters (name, value) VALUES ('${COUNTER_NEXT_ACCOUNT_ID}', 1), ('${COUNTER_NEXT_MESSAGE_ID}', 1);

        CREATE TABLE chat_accounts (
          id            INTEGER PRIMARY KEY,
          username      TEXT NOT NULL,
          name_key      TEXT NOT NULL,
          password_hash TEXT NOT NULL,
          created_at    INTEGER NOT NULL,
          deleted_at    INTEGER,
          unread_count  INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        CREATE UNIQUE INDEX chat_accounts_live_name ON chat_accounts (name_key) WHERE deleted_at IS NULL;
        CREATE INDEX chat_accounts_name ON chat_accounts (name_key, id);

        CREATE TABLE chat_sessions (
          token_hash TEXT PRIMARY KEY,
          user_id    INTEGER NOT NULL REFERENCES chat_accounts (id),
          created_at INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX chat_sessions_user ON chat_sessions (user_id);

        CREATE TABLE chat_messages (
          id                   INTEGER PRIMARY KEY,
          sender_id            INTEGER NOT NULL REFERENCES chat_accounts (id),
          recipient_id         INTEGER NOT NULL REFERENCES chat_accounts (id),
          text                 TEXT NOT NULL,
          sent_at              INTEGER NOT NULL,
          read_at              INTEGER,
          hidden_for_sender    INTEGER NOT NULL DEFAULT 0,
          hidden_for_recipient INTEGER NOT NULL DEFAULT 0
        ) STRICT;
        CREATE INDEX chat_messages_pair ON chat_messages (sender_id, recipient_id, id);
        CREATE INDEX chat_messages_sender ON chat_messages (sender_id, id, hidden_for_sender, recipient_id);
        CREATE INDEX chat_messages_recipient ON chat_messages (recipient_id, id, hidden_for_recipient, sender_id);
        CREATE INDEX chat_messages_unread ON chat_messages (recipient_id, id)
          WHERE read_at IS NULL AND hidden_for_recipient = 0;
        CREATE INDEX chat_messages_unread_pair ON chat_messages (recipient_id, sender_id, id)
          WHERE read_at IS NULL AND hidden_for_recipient = 0;

        CREATE TABLE chat_idempotency (
          scope      TEXT NOT NULL,
          key        TEXT NOT NULL,
          op_type    TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          outcome    TEXT NOT NULL,
          PRIMARY KEY (scope, key)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX chat_idempotency_created ON chat_idempotency (created_at);
      `);
    },
  },
  {
    version: 3,
    name: 'conversation peers by index',
    up: (db) => {
      // Listing conversations walked a user's whole history (~100 ms at 100,000 messages); with
      // received messages ordered by sender it skips from peer to peer instead. The index holds
      // every received message, not only the unread ones, at about the same cost per write (a
      // message enters both when sent, and a read moves it within this one where it left the old).
      db.exec(`
        DROP INDEX chat_messages_unread_pair;
        CREATE INDEX chat_messages_inbox_pair ON chat_messages (recipient_id, sender_id, hidden_for_recipient, read_at, id);
      `);
    },
  },
  {
    version: 4,
    name: 'four message indexes',
    up: (db) => {
      // Five indexes were a b-tree insert and a page written each per message, about half of what
      // applying a message cost. The recipient and unread indexes become one (unread first, each part
      // by id), and no index repeats the id, which every index of a rowid table ends with anyway.
      db.exec(`
        DROP INDEX chat_messages_pair;
        DROP INDEX chat_messages_sender;
        DROP INDEX chat_messages_recipient;
        DROP INDEX chat_messages_unread;
        DROP INDEX chat_messages_inbox_pair;
        CREATE INDEX chat_messages_pair ON chat_messages (sender_id, recipient_id);
        CREATE INDEX chat_messages_sent ON chat_messages (sender_id, hidden_for_sender);
        CREATE INDEX chat_messages_inbox ON chat_messages (recipient_id, hidden_for_recipient, (read_at IS NULL));
        CREATE INDEX chat_messages_inbox_pair ON chat_messages (recipient_id, sender_id, hidden_for_recipient, read_at);
      `);
    },
  },
];
