import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatHarness, expectError, expectOk } from './harness.js';

let h: ChatHarness;
let alice: number;
let bob: number;
let carol: number;
beforeEach(() => {
  h = new ChatHarness();
  alice = h.createAccount('alice');
  bob = h.createAccount('bob');
  carol = h.createAccount('carol');
});
afterEach(() => h.close());

const readAll = (userId: number): void => {
  expectOk(h.apply({ type: 'fetchUnread', userId, limit: 1000 }), 'fetchUnread');
};

describe('deleteMessages', () => {
  it('a recipient deleting hides the message only for them', () => {
    const m = h.send(alice, 'bob', 'hi').id;
    readAll(bob);
    const result = h.deleteMessages(bob, [m]);
    expect(result).toEqual({ type: 'deleteMessages', deletedIds: [m], notices: [{ userId: bob, ids: [m] }] });
    expect(h.visible(bob)).toEqual([]);
    expect(h.visible(alice)).toEqual([m]);
  });

  it('a recipient deleting an unread message lowers their unread count', () => {
    const m = h.send(alice, 'bob', 'hi').id;
    h.send(alice, 'bob', 'again');
    expect(h.chat.unreadCount(bob)).toBe(2);
    h.deleteMessages(bob, [m]);
    expect(h.chat.unreadCount(bob)).toBe(1);
    expect(h.chat.messageById(m)?.read).toBe(false);
  });

  it('the sender deleting an unread message withdraws it from the recipient', () => {
    const m = h.send(alice, 'bob', 'oops').id;
    const result = h.deleteMessages(alice, [m]);
    expect(result.notices).toEqual([
      { userId: alice, ids: [m] },
      { userId: bob, ids: [m] },
    ]);
    expect(h.chat.messageById(m)).toBeUndefined();
    expect(h.visible(bob)).toEqual([]);
    expect(h.chat.unreadCount(bob)).toBe(0);
    expect(expectOk(h.apply({ type: 'fetchUnread', userId: bob, limit: 10 }), 'fetchUnread').messages).toEqual([]);
  });

  it('the sender deleting a read message hides it only for the sender', () => {
    const m = h.send(alice, 'bob', 'seen').id;
    readAll(bob);
    expect(h.deleteMessages(alice, [m]).notices).toEqual([{ userId: alice, ids: [m] }]);
    expect(h.visible(alice)).toEqual([]);
    expect(h.visible(bob)).toEqual([m]);
    expect(h.chat.messageById(m)?.read).toBe(true);
  });

  it('the row goes once both sides deleted it, in either order', () => {
    const m1 = h.send(alice, 'bob', 'one').id;
    const m2 = h.send(alice, 'bob', 'two').id;
    readAll(bob);
    h.deleteMessages(alice, [m1]);
    h.deleteMessages(bob, [m1]);
    h.deleteMessages(bob, [m2]);
    h.deleteMessages(alice, [m2]);
    expect(h.db.prepare('SELECT COUNT(*) FROM chat_messages').pluck().get()).toBe(0);
  });

  it('a sender deleting a message the recipient already deleted unread tells only the sender', () => {
    const m = h.send(alice, 'bob', 'x').id;
    h.deleteMessages(bob, [m]);
    expect(h.deleteMessages(alice, [m]).notices).toEqual([{ userId: alice, ids: [m] }]);
    expect(h.chat.messageById(m)).toBeUndefined();
  });

  it('notes to self disappear at once', () => {
    const n = h.send(alice, 'alice', 'note').id;
    expect(h.deleteMessages(alice, [n]).notices).toEqual([{ userId: alice, ids: [n] }]);
    expect(h.chat.messageById(n)).toBeUndefined();
  });

  it('handles many ids at once, ignoring duplicates, and reports ids in ascending order', () => {
    const a = h.send(alice, 'bob', 'a').id;
    const b = h.send(carol, 'alice', 'b').id;
    const c = h.send(alice, 'carol', 'c').id;
    readAll(carol);
    const result = h.deleteMessages(alice, [c, a, b, a, c]);
    expect(result.deletedIds).toEqual([a, b, c]);
    expect(result.notices).toEqual([
      { userId: alice, ids: [a, b, c] },
      { userId: bob, ids: [a] },
    ]);
    expect(h.visible(alice)).toEqual([]);
    expect(h.visible(carol)).toEqual([b, c]);
  });

  it('fails as a whole with NOT_FOUND naming the first id the user cannot see, changing nothing', () => {
    const mine = h.send(alice, 'bob', 'mine').id;
    const others = h.send(bob, 'carol', 'not yours').id;
    const hidden = h.send(carol, 'alice', 'deleted already').id;
    h.deleteMessages(alice, [hidden]);
    const before = h.chat.digest();
    const cases: [number[], number][] = [
      [[mine, others, 999], others],
      [[mine, 999, others], 999],
      [[hidden, mine], hidden],
    ];
    for (const [ids, first] of cases) {
      const message = expectError(h.apply({ type: 'deleteMessages', userId: alice, ids }), 'NOT_FOUND');
      expect(message).toContain(`message ${first} `);
      for (const id of ids.filter((x) => x !== first)) expect(message).not.toContain(`${id}`);
    }
    // "Not yours" and "does not exist" read the same.
    const notYours = expectError(h.apply({ type: 'deleteMessages', userId: alice, ids: [others] }), 'NOT_FOUND');
    const missing = expectError(h.apply({ type: 'deleteMessages', userId: alice, ids: [12345] }), 'NOT_FOUND');
    expect(notYours.replace(String(others), 'N')).toBe(missing.replace('12345', 'N'));
    // Nothing changed.
    expect(h.chat.digest()).toBe(before);
    expect(h.visible(alice)).toEqual([mine]);
  });

  it('checks the number and form of ids', () => {
    const m = h.send(alice, 'bob', 'x').id;
    expectError(h.apply({ type: 'deleteMessages', userId: alice, ids: [] }), 'INVALID_ARGUMENT');
    expectError(
      h.apply({ type: 'deleteMessages', userId: alice, ids: Array.from({ length: 501 }, () => m) }),
      'INVALID_ARGUMENT',
    );
    expectError(h.apply({ type: 'deleteMessages', userId: alice, ids: [m, 0] }), 'INVALID_ARGUMENT');
    expectError(h.apply({ type: 'deleteMessages', userId: alice, ids: [1.5] }), 'INVALID_ARGUMENT');
    expect(h.visible(alice)).toEqual([m]);
    expect(
      h.deleteMessages(
        alice,
        Array.from({ length: 500 }, () => m),
      ).deletedIds,
    ).toEqual([m]);
  });
});

describe('deleteAccount', () => {
  it('removes sessions, received messages and unread sent ones; keeps read sent ones as from a deleted sender', () => {
    h.login(alice, 'a-token');
    h.login(alice, 'a-token-2');
    h.login(bob, 'b-token');
    const received = h.send(bob, 'alice', 'to alice').id; // bob loses it
    const readByCarol = h.send(alice, 'carol', 'read by carol').id;
    readAll(carol);
    const unreadByBob = h.send(alice, 'bob', 'unread by bob').id; // withdrawn
    const note = h.send(alice, 'alice', 'note').id;
    const untouched = h.send(bob, 'carol', 'bob to carol').id;
    const outcome = h.apply({ type: 'deleteAccount', userId: alice });
    const result = expectOk(outcome, 'deleteAccount');
    expect(result.userId).toBe(alice);
    expect(result.notices).toEqual([
      { userId: alice, ids: [received, readByCarol, unreadByBob, note] },
      { userId: bob, ids: [received, unreadByBob] },
    ]);

    expect(h.chat.sessionAccount('a-token')).toBeUndefined();
    expect(h.chat.sessionAccount('a-token-2')).toBeUndefined();
    expect(h.chat.sessionAccount('b-token')?.id).toBe(bob);
    expect(h.chat.accountById(alice)).toBeUndefined();
    expect(h.chat.accountByName('alice')).toBeUndefined();
    for (const id of [received, unreadByBob, note]) expect(h.chat.messageById(id)).toBeUndefined();
    expect(h.chat.unreadCount(bob)).toBe(0);
    expect(h.visible(bob)).toEqual([untouched]);
    expect(h.visible(carol)).toEqual([readByCarol, untouched]);
    expect(h.chat.messageById(readByCarol)).toMatchObject({
      sender: 'alice',
      senderId: alice,
      senderDeleted: true,
      read: true,
    });
    expect(h.chat.unreadCount(alice)).toBe(0);

    expectError(h.apply({ type: 'deleteAccount', userId: alice }), 'NOT_FOUND');
    expectError(h.apply({ type: 'login', userId: alice, tokenHash: 'again' }), 'NOT_FOUND');
    expectError(h.apply({ type: 'fetchUnread', userId: alice, limit: 10 }), 'UNAUTHENTICATED');
  });

  it('tells nobody about messages they had already deleted', () => {
    const m = h.send(bob, 'alice', 'read by alice, then deleted by bob').id;
    readAll(alice);
    h.deleteMessages(bob, [m]);
    expect(h.visible(alice)).toEqual([m]);
    const u = h.send(alice, 'carol', 'unread, deleted by carol').id;
    h.deleteMessages(carol, [u]);
    const result = expectOk(h.apply({ type: 'deleteAccount', userId: alice }), 'deleteAccount');
    expect(result.notices).toEqual([{ userId: alice, ids: [m, u] }]);
    expect(h.chat.unreadCount(carol)).toBe(0);
  });

  it('lets the recipient delete what a deleted account sent, which removes it for good', () => {
    const m = h.send(alice, 'bob', 'x').id;
    readAll(bob);
    h.deleteMessages(alice, [m]);
    expectOk(h.apply({ type: 'deleteAccount', userId: alice }), 'deleteAccount');
    expect(h.deleteMessages(bob, [m]).notices).toEqual([{ userId: bob, ids: [m] }]);
    expect(h.chat.messageById(m)).toBeUndefined();
  });

  it('keeps old messages pointing at the old account when the name is reused', () => {
    const m = h.send(alice, 'bob', 'from old alice').id;
    readAll(bob);
    expectOk(h.apply({ type: 'deleteAccount', userId: alice }), 'deleteAccount');
    const newAlice = h.createAccount('Alice');
    const fresh = h.send(newAlice, 'bob', 'from new alice').id;
    expect(h.chat.messageById(m)).toMatchObject({ senderId: alice, sender: 'alice', senderDeleted: true });
    expect(h.chat.messageById(fresh)).toMatchObject({ senderId: newAlice, sender: 'Alice', senderDeleted: false });
    expect(h.chat.conversations(bob).map((c) => [c.peerId, c.peer, c.peerDeleted])).toEqual([
      [newAlice, 'Alice', false],
      [alice, 'alice', true],
    ]);
    expect(h.visible(newAlice)).toEqual([fresh]);
  });
});
