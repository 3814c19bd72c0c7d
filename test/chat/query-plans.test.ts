import { describe, expect, it } from 'vitest';
import { openMemoryReplicaDatabase } from '../../src/server/replica-database.js';
import { READ_SQL, WRITE_PATH_SQL } from '../../src/server/chat/statements.js';

describe('write-path statements', () => {
  const db = openMemoryReplicaDatabase();

  it.each(Object.entries(WRITE_PATH_SQL))('%s reaches its rows through an index, never a full scan', (_name, sql) => {
    const params = Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => 1);
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
    for (const step of plan) {
      expect(step, sql).not.toMatch(/^SCAN /);
      expect(step, sql).not.toMatch(/TEMP B-TREE/);
    }
    if (!/^INSERT/.test(sql))
      expect(
        plan.some((step) => /^SEARCH /.test(step)),
        sql,
      ).toBe(true);
  });
});

describe('read-path statements', () => {
  const db = openMemoryReplicaDatabase();
  const plan = (sql: string): string[] =>
    (
      db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ user: 1, peer: 2, before: 10, after: 0, limit: 5 }) as {
        detail: string;
      }[]
    ).map((r) => r.detail);

  it('a history page walks the conversation through the pair index, both directions', () => {
    const steps = plan(READ_SQL.history).filter((s) => /chat_messages /.test(s) && /^SEARCH/.test(s));
    expect(
      steps.filter((s) => s.includes('chat_messages_pair (sender_id=? AND recipient_id=? AND rowid<?)')),
    ).toHaveLength(2);
  });

  it('messages after an id come from ranges of the sent and inbox indexes (visible ones only, by id)', () => {
    const steps = plan(READ_SQL.messagesAfter);
    expect(steps.join('\n')).toContain('chat_messages_sent (sender_id=? AND hidden_for_sender=? AND rowid>?)');
    // The unread and the read part of what the user received.
    expect(
      steps.filter((s) =>
        s.includes('chat_messages_inbox (recipient_id=? AND hidden_for_recipient=? AND <expr>=? AND rowid>?)'),
      ),
    ).toHaveLength(2);
  });

  it("the oldest unread messages are the front of the inbox index's unread part, read in id order", () => {
    const steps = (
      db.prepare(`EXPLAIN QUERY PLAN ${WRITE_PATH_SQL.oldestUnread}`).all(1, 5) as { detail: string }[]
    ).map((r) => r.detail);
    expect(steps).toEqual([
      'SEARCH chat_messages USING COVERING INDEX chat_messages_inbox (recipient_id=? AND hidden_for_recipient=? AND <expr>=?)',
    ]);
  });

  it('listing conversations searches the pair and inbox indexes peer by peer, never a scan of the history', () => {
    const steps = plan(READ_SQL.conversationPeers).filter((s) => /chat_messages\b/.test(s));
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps)
      expect(step).toMatch(/^SEARCH chat_messages USING (COVERING )?INDEX chat_messages_(pair|inbox_pair) \(/);
    expect(steps.join('\n')).toContain('chat_messages_pair (sender_id=? AND recipient_id>?)');
    expect(steps.join('\n')).toContain('chat_messages_inbox_pair (recipient_id=? AND sender_id>?)');
  });

  it('per-peer unread counts come from the inbox index', () => {
    const steps = (db.prepare(`EXPLAIN QUERY PLAN ${READ_SQL.unreadFromPeer}`).all(1, 2) as { detail: string }[]).map(
      (r) => r.detail,
    );
    expect(steps.join('\n')).toContain(
      'chat_messages_inbox_pair (recipient_id=? AND sender_id=? AND hidden_for_recipient=? AND read_at=?)',
    );
  });
});
