import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_PRUNE_EVERY, IDEMPOTENCY_RETENTION_MS } from '../../src/server/chat/apply.js';
import { ChatHarness, expectError, expectOk } from './harness.js';

let h: ChatHarness;
beforeEach(() => {
  h = new ChatHarness();
});
afterEach(() => h.close());

describe('idempotent retries', () => {
  it('createAccount: a retry returns the same account; another key gets ALREADY_EXISTS', () => {
    const op = { type: 'createAccount', username: 'Alice', passwordHash: 'scrypt$1', key: 'k1' } as const;
    const first = h.apply(op);
    expect(first).toEqual({
      ok: true,
      result: { type: 'createAccount', userId: 1, username: 'Alice' },
      replayed: false,
    });
    const before = h.chat.digest();
    expect(h.apply({ ...op, passwordHash: 'scrypt$2' })).toEqual({ ...first, replayed: true });
    expect(h.chat.digest()).toBe(before);
    // The scope is the lowered name: a retry spelled differently is the same request.
    expect(h.apply({ ...op, username: 'ALICE' })).toMatchObject({ ok: true, replayed: true });
    expectError(h.apply({ ...op, key: 'k2' }), 'ALREADY_EXISTS');
    expect(h.chat.listAccounts('', undefined, 10).accounts).toHaveLength(1);
  });

  it('remembers failures: a retry of a refused request is refused the same way, even after the state changed', () => {
    const first = h.createAccount('alice');
    const refused = h.apply({ type: 'createAccount', username: 'alice', passwordHash: 'p', key: 'retry-me' });
    expectError(refused, 'ALREADY_EXISTS');
    expectOk(h.apply({ type: 'deleteAccount', userId: first }), 'deleteAccount');
    const retried = h.apply({ type: 'createAccount', username: 'alice', passwordHash: 'p', key: 'retry-me' });
    expect(retried).toEqual({ ...refused, replayed: true });
    expect(h.chat.accountByName('alice')).toBeUndefined();
    // A new key is a new request.
    expectOk(h.apply({ type: 'createAccount', username: 'alice', passwordHash: 'p', key: 'fresh' }), 'createAccount');
  });

  it('sendMessage: a retry stores nothing new and returns the same message', () => {
    const alice = h.createAccount('alice');
    h.createAccount('bob');
    const op = { type: 'sendMessage', senderId: alice, recipient: 'bob', text: 'once', key: 'send-1' } as const;
    const first = expectOk(h.apply(op), 'sendMessage');
    const again = h.apply(op);
    expect(again).toEqual({ ok: true, result: first, replayed: true });
    expect(h.visible(alice)).toEqual([first.message.id]);
    expect(h.send(alice, 'bob', 'next').id).toBe(first.message.id + 1);
  });

  it('sendMessage: a retry after the message was withdrawn still answers with the original id', () => {
    const alice = h.createAccount('alice');
    h.createAccount('bob');
    const op = { type: 'sendMessage', senderId: alice, recipient: 'bob', text: 'withdraw me', key: 's' } as const;
    const first = expectOk(h.apply(op), 'sendMessage');
    h.deleteMessages(alice, [first.message.id]);
    const retried = expectOk(h.apply(op), 'sendMessage');
    expect(retried.message).toEqual(first.message);
    expect(h.visible(alice)).toEqual([]);
  });

  it('fetchUnread: a retry returns the same messages, not the next ones', () => {
    const alice = h.createAccount('alice');
    const bob = h.createAccount('bob');
    const m1 = h.send(alice, 'bob', 'one').id;
    h.send(alice, 'bob', 'two');
    const op = { type: 'fetchUnread', userId: bob, limit: 1, key: 'f' } as const;
    const first = expectOk(h.apply(op), 'fetchUnread');
    expect(first.messages.map((m) => m.id)).toEqual([m1]);
    h.send(alice, 'bob', 'three');
    const retried = h.apply(op);
    expect(retried).toEqual({ ok: true, result: first, replayed: true });
    expect(h.chat.unreadCount(bob)).toBe(2);
  });

  it('markRead and deleteMessages replay their stored answers', () => {
    const alice = h.createAccount('alice');
    const bob = h.createAccount('bob');
    const m = h.send(alice, 'bob', 'x').id;
    const mark = { type: 'markRead', userId: bob, peer: 'alice', upToId: m, key: 'm' } as const;
    expect(expectOk(h.apply(mark), 'markRead').marked).toBe(1);
    expect(h.apply(mark)).toEqual({ ok: true, result: { type: 'markRead', marked: 1 }, replayed: true });
    const del = { type: 'deleteMessages' as const, userId: bob, ids: [m], key: 'd' };
    const deleted = expectOk(h.apply(del), 'deleteMessages');
    expect(h.apply(del)).toEqual({ ok: true, result: deleted, replayed: true });
    const missing = { type: 'deleteMessages' as const, userId: bob, ids: [m], key: 'd2' };
    const refused = h.apply(missing);
    expectError(refused, 'NOT_FOUND');
    expect(h.apply(missing)).toEqual({ ...refused, replayed: true });
  });

  it('deleteAccount: a retry succeeds again without announcing deletions twice', () => {
    const alice = h.createAccount('alice');
    h.createAccount('bob');
    h.send(alice, 'bob', 'x');
    const op = { type: 'deleteAccount', userId: alice, key: 'bye' } as const;
    expect(expectOk(h.apply(op), 'deleteAccount').notices).toHaveLength(2);
    expect(h.apply(op)).toEqual({
      ok: true,
      result: { type: 'deleteAccount', userId: alice, notices: [] },
      replayed: true,
    });
    expectError(h.apply({ ...op, key: 'other' }), 'NOT_FOUND');
  });

  it('login: a retry with a new token moves the session to it, so the retried answer is usable', () => {
    const alice = h.createAccount('alice');
    const op = { type: 'login', userId: alice, tokenHash: 'first', key: 'l' } as const;
    expectOk(h.apply(op), 'login');
    expect(h.apply({ ...op, tokenHash: 'second' })).toMatchObject({ ok: true, replayed: true });
    expect(h.chat.sessionAccount('first')).toBeUndefined();
    expect(h.chat.sessionAccount('second')?.id).toBe(alice);
    expect(h.apply({ ...op, tokenHash: 'second' })).toMatchObject({ ok: true, replayed: true });
    expect(h.chat.sessionAccount('second')?.id).toBe(alice);
  });

  it('keys are per user: the same key from two users is two requests', () => {
    const alice = h.createAccount('alice');
    const bob = h.createAccount('bob');
    const a = expectOk(
      h.apply({ type: 'sendMessage', senderId: alice, recipient: 'bob', text: 'a', key: 'same' }),
      'sendMessage',
    );
    const b = h.apply({ type: 'sendMessage', senderId: bob, recipient: 'alice', text: 'b', key: 'same' });
    expect(b).toMatchObject({ ok: true, replayed: false, result: { message: { id: a.message.id + 1 } } });
  });

  it('refuses a key reused for a different kind of request', () => {
    const alice = h.createAccount('alice');
    h.createAccount('bob');
    h.apply({ type: 'sendMessage', senderId: alice, recipient: 'bob', text: 'a', key: 'k' });
    const outcome = h.apply({ type: 'fetchUnread', userId: alice, limit: 5, key: 'k' });
    expect(outcome).toMatchObject({ ok: false, code: 'FAILED_PRECONDITION', replayed: false });
  });

  it('without a key every request is applied', () => {
    const alice = h.createAccount('alice');
    h.createAccount('bob');
    const op = { type: 'sendMessage', senderId: alice, recipient: 'bob', text: 'again' } as const;
    expect(expectOk(h.apply(op), 'sendMessage').message.id).toBe(1);
    expect(expectOk(h.apply(op), 'sendMessage').message.id).toBe(2);
  });

  it('refuses over-long keys', () => {
    expectError(
      h.apply({ type: 'createAccount', username: 'x', passwordHash: 'p', key: 'k'.repeat(129) }),
      'INVALID_ARGUMENT',
    );
    expect(h.chat.accountByName('x')).toBeUndefined();
  });

  it('forgets keys older than 24 hours at every 256th log index', () => {
    const alice = h.createAccount('alice');
    h.createAccount('bob');
    const op = { type: 'sendMessage', senderId: alice, recipient: 'bob', text: 'x', key: 'old' } as const;
    expectOk(h.apply(op), 'sendMessage');
    const sentAt = h.now;
    h.now = sentAt + IDEMPOTENCY_RETENTION_MS - 10_000;
    expectOk(h.apply({ ...op, key: 'young' }), 'sendMessage');
    // Still remembered a day later until the next pruning index.
    h.now = sentAt + IDEMPOTENCY_RETENTION_MS + 60_000;
    expect(h.apply(op)).toMatchObject({ ok: true, replayed: true });
    while ((h.index + 1) % IDEMPOTENCY_PRUNE_EVERY !== 0) h.apply({ type: 'logout', userId: alice, tokenHash: 'none' });
    h.apply({ type: 'logout', userId: alice, tokenHash: 'none' });
    expect(h.apply(op)).toMatchObject({ ok: true, replayed: false });
    expect(h.apply({ ...op, key: 'young' })).toMatchObject({ ok: true, replayed: true });
  });
});
