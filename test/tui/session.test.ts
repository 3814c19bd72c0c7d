import { describe, expect, it } from 'vitest';
import type { ChatMessage, ConversationSummary } from '../../src/client/api.js';
import { nextUnread, sortConversations, totalUnread } from '../../src/tui/state/conversations.js';
import { mergeMessages, removeMessages } from '../../src/tui/state/messages.js';
import { visibleOutgoing } from '../../src/tui/state/outbox.js';
import {
  historyOf,
  initialSession,
  sessionReducer,
  unreadUpTo,
  type SessionAction,
  type SessionState,
} from '../../src/tui/state/session.js';

const T0 = new Date(2025, 5, 3, 10, 0).getTime();
let nextId = 1;
function msg(sender: string, recipient: string, text: string, extra: Partial<ChatMessage> = {}): ChatMessage {
  const id = extra.id ?? nextId++;
  return { id, sender, recipient, text, sentAt: T0 + id * 1000, read: false, senderDeleted: false, ...extra };
}
function summary(peer: string, unreadCount: number, last?: ChatMessage, online = false): ConversationSummary {
  return { peer, lastMessage: last, unreadCount, peerOnline: online, peerDeleted: false };
}
const run = (state: SessionState, ...actions: SessionAction[]) => actions.reduce(sessionReducer, state);

describe('message lists', () => {
  it('merge sorts by id and keeps each id once, however often it arrives', () => {
    const a = msg('bob', 'alice', 'a', { id: 5 });
    const b = msg('bob', 'alice', 'b', { id: 3 });
    const merged = mergeMessages([a], [b, a, b]);
    expect(merged.map((m) => m.id)).toEqual([3, 5]);
    expect(mergeMessages(merged, [a])).toBe(merged);
    expect(mergeMessages(merged, [{ ...a, read: true }]).find((m) => m.id === 5)?.read).toBe(true);
    expect(removeMessages(merged, new Set([3])).map((m) => m.id)).toEqual([5]);
  });
});

describe('conversations', () => {
  it('sorts unread conversations up, then by recent activity', () => {
    let s = initialSession('alice');
    const old = msg('bob', 'alice', 'old', { read: true });
    const newer = msg('alice', 'carol', 'hi');
    const unreadOld = msg('dave', 'alice', 'ping');
    s = run(s, {
      type: 'conversations',
      summaries: [summary('dave', 1, unreadOld), summary('bob', 0, old), summary('carol', 0, newer)],
    });
    // dave's message is older than carol's, but it is unread.
    expect(sortConversations(s.conversations).map((e) => e.peer)).toEqual(['dave', 'carol', 'bob']);
    expect(totalUnread(s.conversations)).toBe(1);
  });

  it('counts a real-time message once, and not at all in the open conversation', () => {
    let s = initialSession('alice');
    const m = msg('bob', 'alice', 'hello');
    s = run(s, { type: 'received', messages: [m] }, { type: 'received', messages: [m] });
    expect(s.conversations['bob']?.unread).toBe(1);
    s = run(s, { type: 'open', peer: 'carol' }, { type: 'received', messages: [msg('carol', 'alice', 'hey')] });
    expect(s.conversations['carol']?.unread).toBe(0);
    expect(s.conversations['bob']?.unread).toBe(1);
    // My own messages never count as unread.
    s = run(s, { type: 'received', messages: [msg('alice', 'bob', 'reply')] });
    expect(s.conversations['bob']?.unread).toBe(1);
  });

  it('keeps messages that arrived after a refresh counted, and zeroes the open conversation', () => {
    let s = initialSession('alice');
    const m1 = msg('bob', 'alice', 'one');
    const m2 = msg('bob', 'alice', 'two');
    s = run(s, { type: 'received', messages: [m1, m2] });
    // The server's list was taken after m1 but before m2.
    s = run(s, { type: 'conversations', summaries: [summary('bob', 1, m1, true)] });
    expect(s.conversations['bob']?.unread).toBe(2);
    expect(s.conversations['bob']?.online).toBe(true);
    expect(s.conversations['bob']?.lastMessage?.id).toBe(m2.id);
    s = run(s, { type: 'open', peer: 'bob' }, { type: 'conversations', summaries: [summary('bob', 2, m2)] });
    expect(s.conversations['bob']?.unread).toBe(0);
  });

  it('jumps to the next unread conversation, wrapping around', () => {
    let s = initialSession('alice');
    s = run(s, {
      type: 'conversations',
      summaries: [
        summary('bob', 2, msg('bob', 'alice', 'x')),
        summary('carol', 0, msg('carol', 'alice', 'y', { read: true })),
        summary('dave', 1, msg('dave', 'alice', 'z')),
      ],
    });
    const ordered = sortConversations(s.conversations);
    const first = nextUnread(ordered, undefined);
    expect(first).toBeDefined();
    const second = nextUnread(ordered, first);
    expect(new Set([first, second])).toEqual(new Set(['bob', 'dave']));
    expect(nextUnread(ordered, second)).toBe(first);
    s = run(s, { type: 'open', peer: 'bob' }, { type: 'open', peer: 'dave' });
    expect(nextUnread(sortConversations(s.conversations), 'dave')).toBeUndefined();
  });
});

describe('read state', () => {
  it('marks the open conversation read up to its newest unread message from the peer', () => {
    let s = initialSession('alice');
    const a = msg('bob', 'alice', 'a');
    const b = msg('alice', 'bob', 'b');
    const c = msg('bob', 'alice', 'c');
    s = run(s, { type: 'open', peer: 'bob' }, { type: 'history', peer: 'bob', messages: [a, b, c], hasMore: false });
    expect(unreadUpTo(s, 'bob')).toBe(c.id);
    s = run(s, { type: 'marked-read', peer: 'bob', upToId: c.id });
    expect(unreadUpTo(s, 'bob')).toBeUndefined();
    expect(historyOf(s, 'bob').messages.every((m) => m.sender === 'alice' || m.read)).toBe(true);
  });

  it('fetching unread messages lowers the counts of their conversations', () => {
    let s = initialSession('alice');
    const a = msg('bob', 'alice', 'a');
    const b = msg('carol', 'alice', 'b');
    const c = msg('bob', 'alice', 'c');
    s = run(s, { type: 'conversations', summaries: [summary('bob', 2, c), summary('carol', 1, b)] });
    s = run(s, { type: 'fetched-unread', messages: [a, b] });
    expect(s.conversations['bob']?.unread).toBe(1);
    expect(s.conversations['carol']?.unread).toBe(0);
    expect(historyOf(s, 'bob').messages.map((m) => [m.id, m.read])).toEqual([[a.id, true]]);
  });

  it('a deleted unread message stops counting', () => {
    let s = initialSession('alice');
    const a = msg('bob', 'alice', 'a');
    const b = msg('bob', 'alice', 'b');
    s = run(s, { type: 'received', messages: [a, b] }, { type: 'deleted', ids: [b.id] });
    expect(s.conversations['bob']?.unread).toBe(1);
    expect(s.conversations['bob']?.lastMessage?.id).toBe(a.id);
    expect(historyOf(s, 'bob').messages.map((m) => m.id)).toEqual([a.id]);
  });
});

describe('outbox', () => {
  it('shows a message while sending, hides it once the stream delivers it, and stores it once', () => {
    let s = initialSession('alice');
    s = run(s, { type: 'send', key: 'k1', peer: 'bob', text: 'hi', at: T0 }, { type: 'send-started', key: 'k1' });
    expect(visibleOutgoing(s.outbox, 'bob').map((m) => m.state)).toEqual(['sending']);
    const stored = msg('alice', 'bob', 'hi', { idempotencyKey: 'k1' });
    s = run(s, { type: 'received', messages: [stored] });
    expect(visibleOutgoing(s.outbox, 'bob')).toEqual([]);
    expect(historyOf(s, 'bob').messages.map((m) => m.id)).toEqual([stored.id]);
    s = run(s, { type: 'send-ok', key: 'k1', message: stored });
    expect(s.outbox).toEqual([]);
    expect(historyOf(s, 'bob').messages.map((m) => m.id)).toEqual([stored.id]);
  });

  it('matches my copies on the stream by idempotency key, not by text', () => {
    let s = initialSession('alice');
    s = run(
      s,
      { type: 'send', key: 'k1', peer: 'bob', text: 'same', at: T0 },
      { type: 'send', key: 'k2', peer: 'bob', text: 'same', at: T0 },
    );
    // The second send's copy arrives first: it hides the second entry, not the first.
    s = run(s, { type: 'received', messages: [msg('alice', 'bob', 'same', { idempotencyKey: 'k2' })] });
    expect(visibleOutgoing(s.outbox, 'bob').map((m) => m.key)).toEqual(['k1']);
    // A copy without a key (the replica did not know it) hides nothing: the send call settles it.
    const unkeyed = msg('alice', 'bob', 'same');
    s = run(s, { type: 'received', messages: [unkeyed] });
    expect(visibleOutgoing(s.outbox, 'bob').map((m) => m.key)).toEqual(['k1']);
    s = run(s, { type: 'send-ok', key: 'k1', message: unkeyed });
    expect(visibleOutgoing(s.outbox, 'bob')).toEqual([]);
  });

  it('settles a message whose copy arrived even when the call reports a failure; discards a failed one', () => {
    let s = initialSession('alice');
    s = run(
      s,
      { type: 'send', key: 'k1', peer: 'bob', text: 'stored', at: T0 },
      { type: 'received', messages: [msg('alice', 'bob', 'stored', { idempotencyKey: 'k1' })] },
    );
    s = run(s, { type: 'send-failed', key: 'k1', error: 'deadline exceeded' });
    expect(s.outbox).toEqual([]);
    s = run(
      s,
      { type: 'send', key: 'k2', peer: 'bob', text: 'lost', at: T0 },
      { type: 'send-failed', key: 'k2', error: 'no leader' },
      { type: 'discard', key: 'k2' },
    );
    expect(s.outbox).toEqual([]);
  });

  it('marks where unread messages start when a conversation opens, and shows presence and typing', () => {
    let s = initialSession('alice');
    const read = msg('bob', 'alice', 'old', { read: true });
    const u1 = msg('bob', 'alice', 'new one');
    const u2 = msg('bob', 'alice', 'new two');
    s = run(s, { type: 'conversations', summaries: [summary('bob', 2, u2)] }, { type: 'open', peer: 'bob' });
    expect(s.marker).toEqual({ peerKey: 'bob', count: 2, fromId: undefined });
    s = run(s, { type: 'history', peer: 'bob', messages: [read, u1, u2], hasMore: false });
    expect(s.marker).toEqual({ peerKey: 'bob', count: 2, fromId: u1.id });
    s = run(s, { type: 'presence', peer: 'Bob', online: true }, { type: 'typing', peer: 'bob', at: T0 });
    expect(s.conversations['bob']).toMatchObject({ online: true, typingUntil: T0 + 6000 });
    // A message from bob ends his typing; going offline too.
    s = run(s, { type: 'received', messages: [msg('bob', 'alice', 'done')] });
    expect(s.conversations['bob']?.typingUntil).toBe(0);
    s = run(s, { type: 'presence', peer: 'bob', online: false });
    expect(s.conversations['bob']?.online).toBe(false);
  });

  it('a failed message keeps its idempotency key through a retry', () => {
    let s = initialSession('alice');
    s = run(
      s,
      { type: 'send', key: 'k1', peer: 'bob', text: 'hi', at: T0 },
      { type: 'send-started', key: 'k1' },
      { type: 'send-failed', key: 'k1', error: 'no leader' },
    );
    expect(s.outbox[0]).toMatchObject({ key: 'k1', state: 'failed', error: 'no leader' });
    s = run(s, { type: 'retry', peer: 'bob' });
    expect(s.outbox[0]).toMatchObject({ key: 'k1', state: 'queued' });
    expect(s.outbox[0]?.error).toBeUndefined();
  });
});
