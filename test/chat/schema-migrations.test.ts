import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CHAT_MIGRATIONS } from '../../src/server/chat/schema.js';
import { ChatState } from '../../src/server/chat/chat-state.js';
import { openReplicaDatabase } from '../../src/server/replica-database.js';
import { DATABASE_FILE } from '../../src/server/sqlite/database.js';
import { migrate } from '../../src/server/sqlite/migrations.js';
import { REPLICATION_MIGRATIONS } from '../../src/server/storage/replication-schema.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('chat schema migrations', () => {
  it('a data directory of schema version 2 opens with its messages, unread counts, conversations and streams intact', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat-migrate-'));
    dirs.push(dir);
    // A database as a chat-server with schema version 2 left it.
    const old = new BetterSqlite3(join(dir, DATABASE_FILE));
    migrate(old, [...REPLICATION_MIGRATIONS, ...CHAT_MIGRATIONS.filter((m) => m.version <= 2)]);
    const account = old.prepare(
      'INSERT INTO chat_accounts (id, username, name_key, password_hash, created_at, unread_count) VALUES (?, ?, ?, ?, 0, ?)',
    );
    account.run(1, 'alice', 'alice', 'scrypt$x', 2);
    account.run(2, 'bob', 'bob', 'scrypt$x', 0);
    account.run(3, 'carol', 'carol', 'scrypt$x', 0);
    const message = old.prepare(
      'INSERT INTO chat_messages (id, sender_id, recipient_id, text, sent_at, read_at, hidden_for_sender, hidden_for_recipient) VALUES (?, ?, ?, ?, ?, ?, 0, ?)',
    );
    message.run(1, 2, 1, 'read', 1, 5, 0);
    message.run(2, 2, 1, 'unread', 2, null, 0);
    message.run(3, 3, 1, 'unread too', 3, null, 0);
    message.run(4, 3, 1, 'deleted by alice', 4, null, 1);
    message.run(5, 1, 2, 'reply', 5, null, 0);
    old.close();

    const db = openReplicaDatabase(dir);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(CHAT_MIGRATIONS.at(-1)!.version);
      const indexes = (
        db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'chat_messages'")
          .pluck()
          .all() as string[]
      ).sort();
      expect(indexes).toEqual([
        'chat_messages_inbox',
        'chat_messages_inbox_pair',
        'chat_messages_pair',
        'chat_messages_sent',
      ]);
      const chat = new ChatState(db);
      expect(chat.conversations(1).map((c) => [c.peer, c.lastMessage.id, c.unreadCount])).toEqual([
        ['bob', 5, 1],
        ['carol', 3, 1],
      ]);
      expect(chat.conversations(2).map((c) => [c.peer, c.lastMessage.id, c.unreadCount])).toEqual([['alice', 5, 1]]);
      expect(chat.unreadCount(1)).toBe(2);
      // What a stream replays, and history in both directions, through the rebuilt indexes.
      expect(chat.messagesAfter(1, 0, 10).map((m) => m.id)).toEqual([1, 2, 3, 5]);
      expect(chat.messagesAfter(1, 2, 10).map((m) => m.id)).toEqual([3, 5]);
      expect(chat.history(1, 2, 0, 10).messages.map((m) => m.text)).toEqual(['read', 'unread', 'reply']);
      // The oldest unread message first; the one alice deleted is not hers to fetch.
      const fetched = chat.apply({ type: 'fetchUnread', at: 10, key: '', userId: 1, limit: 1 }, 100);
      expect(
        fetched.ok && fetched.result.type === 'fetchUnread' ? fetched.result.messages.map((m) => m.id) : fetched,
      ).toEqual([2]);
      expect(chat.unreadCount(1)).toBe(1);
    } finally {
      db.close();
    }
  });
});
