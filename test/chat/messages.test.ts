import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatHarness, expectError, expectOk } from './harness.js';

let h: ChatHarness;
let alice: number;
let bob: number;
let carol: number;
beforeEach(() => {
  h = new ChatHarness();
  alice = h.createAccount('alice');
  bob = h.createAccount('Bob');
  carol = h.createAccount('carol');
});
afterEach(() => h.close());

describe('sendMessage', () => {
  it('stores the message with a sequential id, resolving the recipient case-insensitively', () => {
    const at = h.now + 1000;
    const first = h.send(alice, 'BOB', 'hello');
    expect(first).toEqual({
      id: 1,
      senderId: alice,
      recipientId: bob,
      sender: 'alice',
      recipient: 'Bob',
      text: 'hello',
      sentAt: at,
      read: false,
      senderDeleted: false,
    });
    expect(h.send(carol, 'bob', 'hi').id).toBe(2);
    expect(h.send(bob, 'Alice', 'yo').id).toBe(3);
    expect(h.chat.messageById(1)).toEqual(first);
    expect(h.chat.unreadCount(bob)).toBe(2);
    expect(h.chat.unreadCount(alice)).toBe(1);
  });

  it('fails with NOT_FOUND for an unknown or deleted recipient', () => {
    expect(
      expectError(h.apply({ type: 'sendMessage', senderId: alice, recipient: 'dave', text: 'x' }), 'NOT_FOUND'),
    ).toBe('no account named "dave"');
    expectOk(h.apply({ type: 'deleteAccount', userId: carol }), 'deleteAccount');
    expectError(h.apply({ type: 'sendMessage', senderId: alice, recipient: 'carol', text: 'x' }), 'NOT_FOUND');
    expect(h.send(alice, 'bob', 'ok').id).toBe(1);
  });

  it('lets a user write notes to self, which count as read', () => {
    const note = h.send(alice, 'ALICE', 'remember milk');
    expect(note.read).toBe(true);
    expect(note.recipientId).toBe(alice);
    expect(h.chat.unreadCount(alice)).toBe(0);
    expect(h.visible(alice)).toEqual([note.id]);
    expect(h.chat.conversations(alice).map((c) => [c.peer, c.unreadCount])).toEqual([['alice', 0]]);
  });

  it('rejects invalid text without using an id', () => {
    for (const text of ['', '   ', '\n\t', 'nul\u0000', 'esc\u001b[2J', 'cr\r\nlf', 'x'.repeat(4097), 'bad \ud83d']) {
      expectError(h.apply({ type: 'sendMessage', senderId: alice, recipient: 'bob', text }), 'INVALID_ARGUMENT');
    }
    expect(h.chat.unreadCount(bob)).toBe(0);
    expect(h.send(alice, 'bob', 'fine').id).toBe(1);
  });

  it('stores NFC text and keeps emoji sequences and right-to-left text intact', () => {
    const composed = h.send(alice, 'bob', 'cafe\u0301 Zoe\u0308');
    expect(composed.text).toBe('caf\u00e9 Zo\u00eb');
    const family = '👩‍👩‍👧‍👦 🏳️‍🌈 👍🏽';
    expect(h.send(alice, 'bob', family).text).toBe(family);
    const rtl = '\u202bשלום\u202c and مرحبا \u200f!';
    expect(h.send(alice, 'bob', rtl).text).toBe(rtl);
    const multiline = '  indented\n\tand tabbed  ';
    expect(h.send(alice, 'bob', multiline).text).toBe(multiline);
    expect(h.chat.messageById(composed.id)?.text).toBe('caf\u00e9 Zo\u00eb');
  });

  it('accepts the longest message and refuses one more character', () => {
    expect(h.send(alice, 'bob', '😀'.repeat(4096)).text).toHaveLength(8192);
    expectError(
      h.apply({ type: 'sendMessage', senderId: alice, recipient: 'bob', text: '😀'.repeat(4097) }),
      'INVALID_ARGUMENT',
    );
  });

  it('refuses a sender whose account is gone', () => {
    expectOk(h.apply({ type: 'deleteAccount', userId: alice }), 'deleteAccount');
    expectError(h.apply({ type: 'sendMessage', senderId: alice, recipient: 'bob', text: 'x' }), 'UNAUTHENTICATED');
    expectError(h.apply({ type: 'sendMessage', senderId: 99, recipient: 'bob', text: 'x' }), 'UNAUTHENTICATED');
  });
});

describe('fetchUnread', () => {
  it('returns the oldest unread first, marks them read and reports what remains', () => {
    const ids = [h.send(alice, 'bob', 'a1').id, h.send(carol, 'bob', 'c1').id, h.send(alice, 'bob', 'a2').id];
    h.send(bob, 'alice', 'not for bob');
    const at = h.now + 1000;
    const first = expectOk(h.apply({ type: 'fetchUnread', userId: bob, limit: 2 }), 'fetchUnread');
    expect(first.messages.map((m) => [m.id, m.text, m.read])).toEqual([
      [ids[0], 'a1', true],
      [ids[1], 'c1', true],
    ]);
    expect(first.remaining).toBe(1);
    expect(h.chat.unreadCount(bob)).toBe(1);
    expect(h.db.prepare('SELECT read_at FROM chat_messages WHERE id = ?').pluck().get(ids[0])).toBe(at);
    // The sender sees the read flag.
    expect(h.chat.history(alice, bob, 0, 10).messages.find((m) => m.id === ids[0])?.read).toBe(true);
    const second = expectOk(h.apply({ type: 'fetchUnread', userId: bob, limit: 1000 }), 'fetchUnread');
    expect(second.messages.map((m) => m.id)).toEqual([ids[2]]);
    expect(second.remaining).toBe(0);
    const third = expectOk(h.apply({ type: 'fetchUnread', userId: bob, limit: 5 }), 'fetchUnread');
    expect(third).toEqual({ type: 'fetchUnread', messages: [], remaining: 0 });
  });

  it('skips messages the user deleted unread', () => {
    const a = h.send(alice, 'bob', 'deleted before reading').id;
    const b = h.send(alice, 'bob', 'kept').id;
    h.deleteMessages(bob, [a]);
    const got = expectOk(h.apply({ type: 'fetchUnread', userId: bob, limit: 10 }), 'fetchUnread');
    expect(got.messages.map((m) => m.id)).toEqual([b]);
  });

  it('checks the limit', () => {
    for (const limit of [0, -1, 1001, 1.5, Number.NaN]) {
      expectError(h.apply({ type: 'fetchUnread', userId: bob, limit }), 'INVALID_ARGUMENT');
    }
    h.send(alice, 'bob', 'x');
    expect(expectOk(h.apply({ type: 'fetchUnread', userId: bob, limit: 1000 }), 'fetchUnread').messages).toHaveLength(
      1,
    );
  });
});

describe('markRead', () => {
  it('marks messages from that peer up to the id and says how many changed', () => {
    const a1 = h.send(alice, 'bob', 'a1').id;
    const c1 = h.send(carol, 'bob', 'c1').id;
    const a2 = h.send(alice, 'bob', 'a2').id;
    const a3 = h.send(alice, 'bob', 'a3').id;
    expect(expectOk(h.apply({ type: 'markRead', userId: bob, peer: 'ALICE', upToId: a2 }), 'markRead').marked).toBe(2);
    expect(h.chat.messageById(a1)?.read).toBe(true);
    expect(h.chat.messageById(a2)?.read).toBe(true);
    expect(h.chat.messageById(c1)?.read).toBe(false);
    expect(h.chat.messageById(a3)?.read).toBe(false);
    expect(h.chat.unreadCount(bob)).toBe(2);
    expect(expectOk(h.apply({ type: 'markRead', userId: bob, peer: 'alice', upToId: a2 }), 'markRead').marked).toBe(0);
    // Marking my own sent messages does nothing.
    expect(expectOk(h.apply({ type: 'markRead', userId: alice, peer: 'bob', upToId: a3 }), 'markRead').marked).toBe(0);
    expect(h.chat.messageById(a3)?.read).toBe(false);
  });

  it('resolves the peer among deleted accounts too, and fails for a name nobody had', () => {
    h.send(carol, 'bob', 'bye');
    expectOk(h.apply({ type: 'deleteAccount', userId: carol }), 'deleteAccount');
    expect(expectOk(h.apply({ type: 'markRead', userId: bob, peer: 'carol', upToId: 100 }), 'markRead').marked).toBe(0);
    expect(expectError(h.apply({ type: 'markRead', userId: bob, peer: 'zed', upToId: 1 }), 'NOT_FOUND')).toContain(
      'zed',
    );
    expectError(h.apply({ type: 'markRead', userId: bob, peer: 'alice', upToId: -1 }), 'INVALID_ARGUMENT');
  });
});

describe('history', () => {
  it('pages backwards through one conversation, oldest first in each page', () => {
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push(h.send(i % 2 === 0 ? alice : bob, i % 2 === 0 ? 'bob' : 'alice', `m${i}`).id);
      h.send(carol, 'alice', `noise ${i}`);
    }
    const page1 = h.chat.history(alice, bob, 0, 3);
    expect(page1.messages.map((m) => m.id)).toEqual(ids.slice(4));
    expect(page1.hasMore).toBe(true);
    const page2 = h.chat.history(alice, bob, page1.messages[0]!.id, 3);
    expect(page2.messages.map((m) => m.id)).toEqual(ids.slice(1, 4));
    expect(page2.hasMore).toBe(true);
    const page3 = h.chat.history(alice, bob, page2.messages[0]!.id, 3);
    expect(page3.messages.map((m) => m.id)).toEqual(ids.slice(0, 1));
    expect(page3.hasMore).toBe(false);
    expect(h.chat.history(bob, alice, 0, 100).messages.map((m) => m.id)).toEqual(ids);
    expect(h.chat.history(alice, bob, 0, 7).hasMore).toBe(false);
  });

  it('leaves out what the user deleted and shows notes to self once', () => {
    const a = h.send(alice, 'bob', 'one').id;
    const b = h.send(bob, 'alice', 'two').id;
    h.deleteMessages(alice, [b]);
    expect(h.chat.history(alice, bob, 0, 10).messages.map((m) => m.id)).toEqual([a]);
    expect(h.chat.history(bob, alice, 0, 10).messages.map((m) => m.id)).toEqual([a, b]);
    const n1 = h.send(carol, 'carol', 'note 1').id;
    const n2 = h.send(carol, 'carol', 'note 2').id;
    expect(h.chat.history(carol, carol, 0, 10).messages.map((m) => m.id)).toEqual([n1, n2]);
    expect(h.chat.history(carol, carol, 0, 1)).toMatchObject({ hasMore: true, messages: [{ id: n2 }] });
  });
});

describe('messagesAfter', () => {
  it('returns the visible messages to or from the user after an id, oldest first', () => {
    const m1 = h.send(alice, 'bob', '1').id;
    h.send(bob, 'carol', 'not mine');
    const m3 = h.send(carol, 'alice', '3').id;
    const m4 = h.send(alice, 'alice', 'note').id;
    const m5 = h.send(bob, 'alice', '5').id;
    expect(h.chat.messagesAfter(alice, 0, 100).map((m) => m.id)).toEqual([m1, m3, m4, m5]);
    expect(h.chat.messagesAfter(alice, m1, 2).map((m) => m.id)).toEqual([m3, m4]);
    expect(h.chat.messagesAfter(alice, m5, 100)).toEqual([]);
    h.deleteMessages(alice, [m3]);
    expect(h.chat.messagesAfter(alice, 0, 100).map((m) => m.id)).toEqual([m1, m4, m5]);
  });
});

describe('conversations', () => {
  it('lists one row per peer with the last visible message and unread count, newest first', () => {
    h.send(alice, 'bob', 'a→b');
    const c1 = h.send(carol, 'alice', 'c→a 1').id;
    const c2 = h.send(carol, 'alice', 'c→a 2').id;
    const b1 = h.send(bob, 'alice', 'b→a').id;
    let list = h.chat.conversations(alice);
    expect(list.map((c) => [c.peer, c.peerId, c.lastMessage.id, c.unreadCount, c.peerDeleted])).toEqual([
      ['Bob', bob, b1, 1, false],
      ['carol', carol, c2, 2, false],
    ]);
    h.deleteMessages(alice, [b1]);
    expectOk(h.apply({ type: 'markRead', userId: alice, peer: 'carol', upToId: c1 }), 'markRead');
    list = h.chat.conversations(alice);
    expect(list.map((c) => [c.peer, c.lastMessage.id, c.unreadCount])).toEqual([
      ['carol', c2, 1],
      ['Bob', 1, 0],
    ]);
    expect(h.chat.conversations(bob).map((c) => [c.peer, c.lastMessage.id])).toEqual([['alice', b1]]);
  });

  it('drops a conversation whose messages the user deleted, while the peer still sees it', () => {
    const a1 = h.send(alice, 'bob', 'one').id;
    const b1 = h.send(bob, 'alice', 'two').id;
    expectOk(h.apply({ type: 'markRead', userId: alice, peer: 'bob', upToId: b1 }), 'markRead');
    expectOk(h.apply({ type: 'markRead', userId: bob, peer: 'alice', upToId: a1 }), 'markRead');
    h.send(carol, 'alice', 'three');
    h.deleteMessages(alice, [a1, b1]);
    expect(h.chat.conversations(alice).map((c) => c.peer)).toEqual(['carol']);
    expect(h.chat.conversations(bob).map((c) => [c.peer, c.lastMessage.id])).toEqual([['alice', b1]]);
  });

  it('lists a note to self once', () => {
    h.send(alice, 'alice', 'note');
    h.send(bob, 'alice', 'hi');
    expect(h.chat.conversations(alice).map((c) => [c.peer, c.unreadCount])).toEqual([
      ['Bob', 1],
      ['alice', 0],
    ]);
  });

  it('marks a deleted peer and keeps the messages it sent that were read', () => {
    const m = h.send(carol, 'alice', 'read me').id;
    expectOk(h.apply({ type: 'markRead', userId: alice, peer: 'carol', upToId: m }), 'markRead');
    expectOk(h.apply({ type: 'deleteAccount', userId: carol }), 'deleteAccount');
    h.createAccount('carol');
    const [conv] = h.chat.conversations(alice);
    expect(conv).toMatchObject({ peer: 'carol', peerId: carol, peerDeleted: true, unreadCount: 0 });
    expect(conv!.lastMessage).toMatchObject({ id: m, sender: 'carol', senderDeleted: true, read: true });
    expect(h.chat.history(alice, h.chat.peerByName('carol')!.id, 0, 10).messages).toEqual([]);
    expect(h.chat.history(alice, carol, 0, 10).messages.map((x) => x.id)).toEqual([m]);
  });
});
