import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatHarness, expectError, expectOk } from './harness.js';

let h: ChatHarness;
beforeEach(() => {
  h = new ChatHarness();
});
afterEach(() => h.close());

describe('createAccount', () => {
  it('assigns sequential ids from 1 and keeps the name as typed', () => {
    const at = h.now + 1000;
    const created = expectOk(
      h.apply({ type: 'createAccount', username: 'Alice', passwordHash: 'scrypt$x' }),
      'createAccount',
    );
    expect(created).toEqual({ type: 'createAccount', userId: 1, username: 'Alice' });
    expect(h.createAccount('bob')).toBe(2);
    expect(h.chat.accountByName('ALICE')).toEqual({
      id: 1,
      username: 'Alice',
      passwordHash: 'scrypt$x',
      createdAt: at,
    });
    expect(h.chat.accountById(2)?.username).toBe('bob');
  });

  it('rejects invalid names without creating anything or using an id', () => {
    for (const username of ['', 'has space', 'x'.repeat(33), 'émile', 'a/b', 'nul\u0000']) {
      expectError(h.apply({ type: 'createAccount', username, passwordHash: 'scrypt$x' }), 'INVALID_ARGUMENT');
    }
    expect(h.chat.listAccounts('', undefined, 100).accounts).toEqual([]);
    expect(h.createAccount('ok')).toBe(1);
  });

  it('refuses a name that a live account holds in any letter case', () => {
    h.createAccount('Alice');
    for (const username of ['Alice', 'alice', 'ALICE', 'aLiCe']) {
      const message = expectError(
        h.apply({ type: 'createAccount', username, passwordHash: 'scrypt$y' }),
        'ALREADY_EXISTS',
      );
      expect(message).toContain(username);
    }
    expect(h.chat.listAccounts('*', undefined, 10).accounts).toEqual([{ id: 1, username: 'Alice' }]);
  });

  it('frees the name when the account is deleted; the new account gets a new id', () => {
    const old = h.createAccount('alice');
    expectOk(h.apply({ type: 'deleteAccount', userId: old }), 'deleteAccount');
    expect(h.chat.accountByName('alice')).toBeUndefined();
    expect(h.chat.peerByName('Alice')).toEqual({ id: old, username: 'alice', deleted: true });
    const again = h.createAccount('ALICE');
    expect(again).toBe(old + 1);
    expect(h.chat.accountByName('alice')?.id).toBe(again);
    expect(h.chat.accountById(old)).toBeUndefined();
    expect(h.chat.peerByName('alice')).toEqual({ id: again, username: 'ALICE', deleted: false });
  });

  it('does not let look-alike Unicode names reach an ASCII account', () => {
    h.createAccount('kate');
    expect(h.chat.accountByName('\u212Aate')).toBeUndefined();
    expectError(h.apply({ type: 'sendMessage', senderId: 1, recipient: '\u212Aate', text: 'hi' }), 'NOT_FOUND');
  });
});

describe('login and logout', () => {
  it('creates sessions; several per user; reports the unread count', () => {
    const alice = h.createAccount('alice');
    const bob = h.createAccount('bob');
    h.send(bob, 'alice', 'one');
    h.send(bob, 'alice', 'two');
    expect(h.login(alice, 'hash-1')).toEqual({ type: 'login', userId: alice, username: 'alice', unreadCount: 2 });
    h.login(alice, 'hash-2');
    expect(h.chat.sessionAccount('hash-1')?.id).toBe(alice);
    expect(h.chat.sessionAccount('hash-2')?.id).toBe(alice);
    expect(h.chat.sessionAccount('hash-3')).toBeUndefined();
  });

  it('fails with NOT_FOUND for an unknown or deleted account', () => {
    expectError(h.apply({ type: 'login', userId: 7, tokenHash: 'h' }), 'NOT_FOUND');
    const alice = h.createAccount('alice');
    expectOk(h.apply({ type: 'deleteAccount', userId: alice }), 'deleteAccount');
    expectError(h.apply({ type: 'login', userId: alice, tokenHash: 'h' }), 'NOT_FOUND');
    expect(h.chat.sessionAccount('h')).toBeUndefined();
  });

  it('refuses a token hash that already belongs to someone else', () => {
    const alice = h.createAccount('alice');
    const bob = h.createAccount('bob');
    h.login(alice, 'same');
    expectError(h.apply({ type: 'login', userId: bob, tokenHash: 'same' }), 'FAILED_PRECONDITION');
    expect(h.chat.sessionAccount('same')?.id).toBe(alice);
  });

  it('logout ends only that session, twice is fine, and another user cannot end it', () => {
    const alice = h.createAccount('alice');
    const bob = h.createAccount('bob');
    h.login(alice, 'a1');
    h.login(alice, 'a2');
    expectOk(h.apply({ type: 'logout', userId: bob, tokenHash: 'a1' }), 'logout');
    expect(h.chat.sessionAccount('a1')?.id).toBe(alice);
    expectOk(h.apply({ type: 'logout', userId: alice, tokenHash: 'a1' }), 'logout');
    expect(h.chat.sessionAccount('a1')).toBeUndefined();
    expect(h.chat.sessionAccount('a2')?.id).toBe(alice);
    expectOk(h.apply({ type: 'logout', userId: alice, tokenHash: 'a1' }), 'logout');
  });
});

describe('listAccounts', () => {
  beforeEach(() => {
    for (const name of ['carol', 'Bob', 'alice', 'a_b', 'axb', 'Dave', 'al', 'eve']) h.createAccount(name);
  });

  it('lists live accounts in case-insensitive name order', () => {
    expect(h.chat.listAccounts('', undefined, 100).accounts.map((a) => a.username)).toEqual([
      'a_b',
      'al',
      'alice',
      'axb',
      'Bob',
      'carol',
      'Dave',
      'eve',
    ]);
  });

  it('pages with `after` until the last page', () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = h.chat.listAccounts('*', after, 3);
      expect(page.accounts.length).toBeLessThanOrEqual(3);
      seen.push(...page.accounts.map((a) => a.username));
      after = page.nextAfter;
      pages++;
    } while (after !== undefined && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(['a_b', 'al', 'alice', 'axb', 'Bob', 'carol', 'Dave', 'eve']);
    // An exact fit ends without an empty extra page.
    expect(h.chat.listAccounts('*', undefined, 8).nextAfter).toBeUndefined();
    expect(h.chat.listAccounts('*', undefined, 7).nextAfter).toBe('Dave');
    // `after` compares case-insensitively.
    expect(h.chat.listAccounts('*', 'BOB', 2).accounts.map((a) => a.username)).toEqual(['carol', 'Dave']);
  });

  it('filters with wildcards, case-insensitively, with `_` literal', () => {
    const names = (pattern: string): string[] =>
      h.chat.listAccounts(pattern, undefined, 100).accounts.map((a) => a.username);
    expect(names('a_b')).toEqual(['a_b']);
    expect(names('a?b')).toEqual(['a_b', 'axb']);
    expect(names('AL*')).toEqual(['al', 'alice']);
    expect(names('*E')).toEqual(['alice', 'Dave', 'eve']);
    expect(names('?????')).toEqual(['alice', 'carol']);
    expect(names('zed*')).toEqual([]);
  });

  it('leaves out deleted accounts', () => {
    const carol = h.chat.accountByName('carol')!.id;
    expectOk(h.apply({ type: 'deleteAccount', userId: carol }), 'deleteAccount');
    expect(h.chat.listAccounts('c*', undefined, 10).accounts).toEqual([]);
  });
});
