/**
 * The ChatService handlers over real gRPC on loopback, backed by an in-process
 * replica whose chat state is the real ChatState.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalCluster, startLocalServer, type LocalServer } from '../support/local-replica.js';
import { RawChat } from './raw-client.js';

let cluster: LocalCluster;
let server: LocalServer;
let raw: RawChat;
const extra: { close(): void }[] = [];

async function start(options: Parameters<typeof startLocalServer>[1] = {}): Promise<void> {
  cluster = new LocalCluster(['A']);
  server = await startLocalServer(cluster.replica('A'), options);
  raw = new RawChat(server.address);
}

afterEach(async () => {
  for (const c of extra.splice(0)) c.close();
  raw?.close();
  await server?.stop();
  cluster?.close();
});

describe('accounts and sessions', () => {
  beforeEach(() => start());

  it('creates an account, logs in, and refuses a wrong password or unknown user alike', async () => {
    const c = raw.client;
    const created = await raw.call(c.createAccount, {
      username: 'alice',
      password: 'correct horse',
      idempotencyKey: 'k1',
    });
    expect(created.username).toBe('alice');
    // The password is never stored as given.
    expect(cluster.chat.accountByName('alice')!.passwordHash).toMatch(
      /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/,
    );
    expect(cluster.chat.accountByName('alice')!.passwordHash).not.toContain('correct horse');

    const login = await raw.call(c.login, { username: 'ALICE', password: 'correct horse', idempotencyKey: '' });
    expect(login.username).toBe('alice');
    expect(login.token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const wrongPassword = await raw.failure(c.login, {
      username: 'alice',
      password: 'wrong horse!',
      idempotencyKey: '',
    });
    const noSuchUser = await raw.failure(c.login, {
      username: 'mallory',
      password: 'correct horse',
      idempotencyKey: '',
    });
    expect(wrongPassword.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(noSuchUser.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(wrongPassword.details).toBe(noSuchUser.details);
  });

  it('refuses a taken name, also case-insensitively, and a retried create with the same key succeeds once', async () => {
    const c = raw.client;
    await raw.call(c.createAccount, { username: 'bob', password: 'password-1', idempotencyKey: 'same' });
    const again = await raw.call(c.createAccount, { username: 'bob', password: 'password-1', idempotencyKey: 'same' });
    expect(again.username).toBe('bob');
    const taken = await raw.failure(c.createAccount, {
      username: 'BOB',
      password: 'password-2',
      idempotencyKey: 'other',
    });
    expect(taken.code).toBe(grpc.status.ALREADY_EXISTS);
    const takenNoKey = await raw.failure(c.createAccount, {
      username: 'Bob',
      password: 'password-2',
      idempotencyKey: '',
    });
    expect(takenNoKey.code).toBe(grpc.status.ALREADY_EXISTS);
  });

  it('rejects bad input with INVALID_ARGUMENT and a message a person can act on, and keeps serving', async () => {
    const c = raw.client;
    const cases: [string, string][] = [
      ['', 'long-enough-pw'],
      ['has space', 'long-enough-pw'],
      ['émile', 'long-enough-pw'],
      ['a'.repeat(33), 'long-enough-pw'],
      ['carol', 'short'],
      ['carol', 'bell\u0007inside'],
    ];
    for (const [username, password] of cases) {
      const err = await raw.failure(c.createAccount, { username, password, idempotencyKey: '' });
      expect(err.code, `${JSON.stringify(username)} / ${JSON.stringify(password)}`).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details.length).toBeGreaterThan(10);
    }
    expect(cluster.index).toBe(0); // nothing reached the log
    const token = await raw.createUser('carol');
    expect(token).toBeTruthy();
  });

  it('requires a valid session token for everything but CreateAccount and Login', async () => {
    const c = raw.client;
    const missing = await raw.failure(c.listConversations, {});
    expect(missing.code).toBe(grpc.status.UNAUTHENTICATED);
    const wrong = await raw.failure(
      c.sendMessage,
      { recipient: 'x', text: 'hi', idempotencyKey: '' },
      'not-a-real-token',
    );
    expect(wrong.code).toBe(grpc.status.UNAUTHENTICATED);
    const stream = raw.subscribe('forged');
    expect((await stream.untilEnded()).code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('logout ends that session and its streams only', async () => {
    const c = raw.client;
    await raw.call(c.createAccount, { username: 'dana', password: 'dana-password', idempotencyKey: '' });
    const t1 = (await raw.call(c.login, { username: 'dana', password: 'dana-password', idempotencyKey: '' })).token;
    const t2 = (await raw.call(c.login, { username: 'dana', password: 'dana-password', idempotencyKey: '' })).token;
    const s1 = raw.subscribe(t1);
    const s2 = raw.subscribe(t2);
    await raw.send(t1, 'dana', 'note to self');
    await s1.untilMessages(1);
    await s2.untilMessages(1);

    await raw.call(c.logout, {}, t1);
    const ended = await s1.untilEnded();
    expect(ended.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(ended.details).toBe('logged out');
    expect((await raw.failure(c.listConversations, {}, t1)).code).toBe(grpc.status.UNAUTHENTICATED);

    await raw.send(t2, 'dana', 'still here');
    await s2.untilMessages(2);
    expect(s2.status).toBeUndefined();
    s2.cancel();
  });
});

describe('messages', () => {
  beforeEach(() => start());

  it('delivers a message to the recipient and the sender in real time', async () => {
    const alice = await raw.createUser('alice');
    const bob = await raw.createUser('bob');
    const bobStream = raw.subscribe(bob);
    const aliceStream = raw.subscribe(alice);
    await bobStream.until('headers', () => server.chat.metrics().openStreams === 2);

    const sent = await raw.send(alice, 'bob', 'hello bob');
    await bobStream.untilMessages(1);
    await aliceStream.untilMessages(1);
    expect(bobStream.messages[0]).toMatchObject({
      id: sent.id,
      sender: 'alice',
      recipient: 'bob',
      text: 'hello bob',
      read: false,
    });
    expect(aliceStream.messages[0]!.id).toBe(sent.id);
    bobStream.cancel();
    aliceStream.cancel();
  });

  it('sends the backlog after the given id, then live messages, with no gaps or doubles', async () => {
    const alice = await raw.createUser('alice');
    const bob = await raw.createUser('bob');
    const early = [];
    for (let i = 0; i < 7; i++) early.push(await raw.send(alice, 'bob', `early ${i}`));
    const after = early[1]!.id;

    // Subscribe while more messages are being sent.
    const sending = (async () => {
      const out = [];
      for (let i = 0; i < 20; i++) out.push(await raw.send(i % 2 ? bob : alice, i % 2 ? 'alice' : 'bob', `live ${i}`));
      return out;
    })();
    const stream = raw.subscribe(bob, after);
    const late = await sending;
    const expected = [...early.slice(2), ...late].map((m) => m.id);
    await stream.untilMessages(expected.length);
    await new Promise((r) => setTimeout(r, 50));
    expect(stream.messages.map((m) => m.id)).toEqual(expected);
    stream.cancel();
  });

  it('pages the backlog through small pages without losing the live feed', async () => {
    await server.stop();
    cluster.close();
    await start({ chat: { subscriptions: { pageSize: 3 } } });
    const alice = await raw.createUser('alice');
    const bob = await raw.createUser('bob');
    for (let i = 0; i < 10; i++) await raw.send(alice, 'bob', `m${i}`);
    const stream = raw.subscribe(bob);
    await stream.untilMessages(10);
    await raw.send(alice, 'bob', 'live');
    await stream.untilMessages(11);
    expect(stream.messages.map((m) => m.text)).toEqual([...Array.from({ length: 10 }, (_, i) => `m${i}`), 'live']);
    stream.cancel();
  });

  it('keeps every message, in order and once, for a reader that stops reading for a while', async () => {
    const alice = await raw.createUser('alice');
    const bob = await raw.createUser('bob');
    const stream = raw.subscribe(bob);
    await stream.until('stream open', () => server.chat.metrics().openStreams === 1);
    stream.call.pause();
    const big = '\u{1F600}'.repeat(3000); // 12 000 bytes of UTF-8
    const sent = [];
    for (let i = 0; i < 60; i++) sent.push((await raw.send(alice, 'bob', `${i} ${big}`)).id);
    stream.call.resume();
    await stream.untilMessages(60, 10_000);
    expect(stream.messages.map((m) => m.id)).toEqual(sent);
    stream.cancel();
  });

  it('ends a stream that is not read for too long with RESOURCE_EXHAUSTED', async () => {
    await server.stop();
    cluster.close();
    await start({ chat: { subscriptions: { stallTimeoutMs: 200 } } });
    const alice = await raw.createUser('alice');
    const bob = await raw.createUser('bob');
    const stream = raw.subscribe(bob);
    await stream.until('stream open', () => server.chat.metrics().openStreams === 1);
    stream.call.pause();
    const big = '\u{1F600}'.repeat(4000);
    for (let i = 0; i < 80; i++) await raw.send(alice, 'bob', `${i} ${big}`);
    await stream.until('the server to give up on the stream', () => server.chat.metrics().openStreams === 0, 5_000);
    stream.call.resume();
    const status = await stream.untilEnded(10_000);
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // What did arrive is a prefix, in order, without doubles.
    const ids = stream.messages.map((m) => m.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    // The server still serves.
    await raw.send(alice, 'bob', 'after');
  });

  it('stores text as NFC, accepts emoji, and rejects empty, oversized or control-character text', async () => {
    const alice = await raw.createUser('alice');
    await raw.createUser('bob');
    const stored = await raw.send(alice, 'bob', 'cafe\u0301 \u{1F44B}\n\tok');
    expect(stored.text).toBe('caf\u00e9 \u{1F44B}\n\tok');
    const bad = ['', '   \n ', 'x'.repeat(4097), 'nul\u0000char', 'esc\u001b[2J', '\u{1F600}'.repeat(4097)];
    for (const text of bad) {
      const err = await raw.failure(raw.client.sendMessage, { recipient: 'bob', text, idempotencyKey: '' }, alice);
      expect(err.code, JSON.stringify(text.slice(0, 20))).toBe(grpc.status.INVALID_ARGUMENT);
    }
    const noOne = await raw.failure(
      raw.client.sendMessage,
      { recipient: 'nobody', text: 'hi', idempotencyKey: '' },
      alice,
    );
    expect(noOne.code).toBe(grpc.status.NOT_FOUND);
    const badName = await raw.failure(
      raw.client.sendMessage,
      { recipient: 'bo b', text: 'hi', idempotencyKey: '' },
      alice,
    );
    expect(badName.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('counts unread messages and marks them read', async () => {
    const alice = await raw.createUser('alice');
    const bob = await raw.createUser('bob');
    const carol = await raw.createUser('carol');
    const m1 = await raw.send(alice, 'bob', 'one');
    await raw.send(alice, 'bob', 'two');
    await raw.send(carol, 'bob', 'three');

    const relogin = await raw.call(raw.client.login, {
      username: 'bob',
      password: 'bob-secret-pw',
      idempotencyKey: '',
    });
    expect(relogin.unreadCount).toBe(3);
    const convs = (await raw.call(raw.client.listConversations, {}, bob)).conversations;
    expect(convs.map((c) => [c.peer, c.unreadCount])).toEqual([
      ['carol', 1],
      ['alice', 2],
    ]);

    const marked = await raw.call(raw.client.markRead, { peer: 'alice', upToId: m1.id, idempotencyKey: '' }, bob);
    expect(marked.marked).toBe(1);
    const fetched = await raw.call(raw.client.fetchUnread, { limit: 1, idempotencyKey: '' }, bob);
    expect(fetched.messages.map((m) => m.text)).toEqual(['two']);
    expect(fetched.remaining).toBe(1);
    const badLimit = await raw.failure(raw.client.fetchUnread, { limit: 0, idempotencyKey: '' }, bob);
    expect(badLimit.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('pages history and account listings; a forged page token is INVALID_ARGUMENT', async () => {
    const alice = await raw.createUser('alice');
    for (const name of ['bob', 'bea', 'bill', 'boris', 'carl']) await raw.createUser(name);
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await raw.send(alice, 'bob', `h${i}`));

    const newest = await raw.call(raw.client.getHistory, { peer: 'bob', beforeId: 0, limit: 2 }, alice);
    expect(newest.messages.map((m) => m.text)).toEqual(['h3', 'h4']);
    expect(newest.hasMore).toBe(true);
    const older = await raw.call(
      raw.client.getHistory,
      { peer: 'bob', beforeId: newest.messages[0]!.id, limit: 10 },
      alice,
    );
    expect(older.messages.map((m) => m.text)).toEqual(['h0', 'h1', 'h2']);
    expect(older.hasMore).toBe(false);
    expect((await raw.failure(raw.client.getHistory, { peer: 'ghost', beforeId: 0, limit: 2 }, alice)).code).toBe(
      grpc.status.NOT_FOUND,
    );

    const names: string[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const page = await raw.call(raw.client.listAccounts, { pattern: 'b*', pageSize: 2, pageToken }, alice);
      names.push(...page.accounts.map((a) => a.username));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken !== '' && pages < 10);
    expect(names).toEqual(['bea', 'bill', 'bob', 'boris']);
    expect(pages).toBe(2);

    for (const forged of ['!!!', Buffer.from('after:no such name!').toString('base64url'), 'bm90IG91cnM']) {
      const err = await raw.failure(raw.client.listAccounts, { pattern: '', pageSize: 2, pageToken: forged }, alice);
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    }
    expect(
      (await raw.failure(raw.client.listAccounts, { pattern: 'b[a]*', pageSize: 0, pageToken: '' }, alice)).code,
    ).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('shows who is online: a user with an open stream', async () => {
    const alice = await raw.createUser('alice');
    const bob = await raw.createUser('bob');
    await raw.send(alice, 'bob', 'hi');
    const online = async () =>
      (await raw.call(raw.client.listAccounts, { pattern: '', pageSize: 0, pageToken: '' }, alice)).accounts.find(
        (a) => a.username === 'bob',
      )!.online;
    expect(await online()).toBe(false);
    const stream = raw.subscribe(bob);
    await stream.untilMessages(1);
    expect(await online()).toBe(true);
    expect((await raw.call(raw.client.listConversations, {}, alice)).conversations[0]!.peerOnline).toBe(true);
    stream.cancel();
    await stream.until('the stream to close on the server', () => server.chat.metrics().openStreams === 0);
    expect(await online()).toBe(false);
  });

  it("gives the sender's own stream copy the idempotency key it was sent with, and nobody else", async () => {
    const alice = await raw.createUser('alice');
    const bob = await raw.createUser('bob');
    const aliceStream = raw.subscribe(alice);
    const bobStream = raw.subscribe(bob);
    await aliceStream.until('streams open', () => server.chat.metrics().openStreams === 2);
    // Two identical texts in a row: the keys tell them apart.
    const first = await raw.send(alice, 'bob', 'same text', 'key-one');
    const second = await raw.send(alice, 'bob', 'same text', 'key-two');
    await aliceStream.untilMessages(2);
    await bobStream.untilMessages(2);
    expect(aliceStream.messages.map((m) => [m.id, m.idempotencyKey])).toEqual([
      [first.id, 'key-one'],
      [second.id, 'key-two'],
    ]);
    expect(bobStream.messages.map((m) => m.idempotencyKey)).toEqual(['', '']);
    expect(first.idempotencyKey).toBe('');
    // A stream opened later reads them from the backlog, keys included.
    const later = raw.subscribe(alice);
    await later.untilMessages(2);
    expect(later.messages.map((m) => m.idempotencyKey)).toEqual(['key-one', 'key-two']);
    const history = await raw.call(raw.client.getHistory, { peer: 'bob', beforeId: 0, limit: 0 }, alice);
    expect(history.messages.map((m) => m.idempotencyKey)).toEqual(['', '']);
    for (const s of [aliceStream, bobStream, later]) s.cancel();
  });

  it('pushes the presence of conversation peers as they come and go, to them only', async () => {
    const alice = await raw.createUser('alice');
    const bob = await raw.createUser('bob');
    const carol = await raw.createUser('carol');
    await raw.send(alice, 'bob', 'hi bob');
    const aliceStream = raw.subscribe(alice);
    const carolStream = raw.subscribe(carol);
    await aliceStream.until('streams open', () => server.chat.metrics().openStreams === 2);
    const bobStream = raw.subscribe(bob);
    await aliceStream.until('bob online', () => aliceStream.presence.length === 1);
    expect(aliceStream.presence).toEqual([{ username: 'bob', online: true }]);
    // A second stream of bob is no change; closing one of two is none either.
    const bobAgain = raw.subscribe(bob);
    await bobAgain.until('open', () => server.chat.metrics().openStreams === 4);
    bobAgain.cancel();
    await bobAgain.until('closed', () => server.chat.metrics().openStreams === 3);
    bobStream.cancel();
    await aliceStream.until('bob offline', () => aliceStream.presence.length === 2);
    expect(aliceStream.presence).toEqual([
      { username: 'bob', online: true },
      { username: 'bob', online: false },
    ]);
    // Carol has no conversation with bob: she is told nothing. A first message makes her a peer.
    expect(carolStream.presence).toEqual([]);
    await raw.send(carol, 'bob', 'hello');
    await carolStream.untilMessages(1);
    const bobBack = raw.subscribe(bob);
    await carolStream.until('bob online for carol', () => carolStream.presence.length === 1);
    expect(carolStream.presence).toEqual([{ username: 'bob', online: true }]);
    // A first message from someone online (a new conversation on an open stream) says at once that they are.
    const erin = await raw.createUser('erin');
    const erinStream = raw.subscribe(erin);
    await erinStream.until('open', () => server.chat.metrics().openStreams === 4);
    await raw.send(bob, 'erin', 'hi erin');
    await erinStream.untilMessages(1);
    await erinStream.until('bob online for erin', () => erinStream.presence.length === 1);
    expect(erinStream.presence).toEqual([{ username: 'bob', online: true }]);
    for (const s of [aliceStream, carolStream, bobBack, erinStream]) s.cancel();
  });

  it('passes typing notices to the peer, at most one a second, and refuses unknown peers', async () => {
    const alice = await raw.createUser('alice');
    const bob = await raw.createUser('bob');
    const bobStream = raw.subscribe(bob);
    await bobStream.until('open', () => server.chat.metrics().openStreams === 1);
    await raw.call(raw.client.notifyTyping, { peer: 'BOB' }, alice);
    await raw.call(raw.client.notifyTyping, { peer: 'bob' }, alice);
    await bobStream.until('a typing notice', () => bobStream.typing.length === 1);
    expect(bobStream.typing).toEqual(['alice']);
    const unknown = await raw.failure(raw.client.notifyTyping, { peer: 'nobody' }, alice);
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    const bad = await raw.failure(raw.client.notifyTyping, { peer: 'not a name' }, alice);
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    const anonymous = await raw.failure(raw.client.notifyTyping, { peer: 'bob' });
    expect(anonymous.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(cluster.index).toBe(4); // two accounts, two logins: typing is never logged
    await new Promise((r) => setTimeout(r, 50));
    expect(bobStream.typing).toEqual(['alice']);
    bobStream.cancel();
  });

  it('deletes messages, tells the open streams, and refuses other users\u2019 ids', async () => {
    const alice = await raw.createUser('alice');
    const bob = await raw.createUser('bob');
    const carol = await raw.createUser('carol');
    const m = await raw.send(alice, 'bob', 'oops');
    const private_ = await raw.send(carol, 'carol', 'carol only');
    const bobStream = raw.subscribe(bob);
    await bobStream.untilMessages(1);

    const notMine = await raw.failure(raw.client.deleteMessages, { ids: [private_.id], idempotencyKey: '' }, alice);
    expect(notMine.code).toBe(grpc.status.NOT_FOUND);
    const none = await raw.failure(raw.client.deleteMessages, { ids: [], idempotencyKey: '' }, alice);
    expect(none.code).toBe(grpc.status.INVALID_ARGUMENT);
    // Another user's message cannot be read either.
    const carolHistory = await raw.call(raw.client.getHistory, { peer: 'carol', beforeId: 0, limit: 10 }, alice);
    expect(carolHistory.messages).toEqual([]);

    const deleted = await raw.call(raw.client.deleteMessages, { ids: [m.id], idempotencyKey: '' }, alice);
    expect(deleted.deletedIds).toEqual([m.id]);
    await bobStream.until('the deletion notice', () => bobStream.deleted.length > 0);
    expect(bobStream.deleted).toEqual([[m.id]]); // unread, so withdrawn from bob too
    bobStream.cancel();
  });

  it('deleting the account needs the password and ends its streams with UNAUTHENTICATED', async () => {
    const alice = await raw.createUser('alice');
    const bob = await raw.createUser('bob');
    await raw.send(alice, 'bob', 'from alice');
    const aliceStream = raw.subscribe(alice);
    const bobStream = raw.subscribe(bob);
    await aliceStream.untilMessages(1);
    await bobStream.untilMessages(1);

    const wrong = await raw.failure(
      raw.client.deleteAccount,
      { password: 'not-her-password', idempotencyKey: '' },
      alice,
    );
    expect(wrong.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(cluster.chat.accountByName('alice')).toBeDefined();

    await raw.call(raw.client.deleteAccount, { password: 'alice-secret-pw', idempotencyKey: 'del-1' }, alice);
    const ended = await aliceStream.untilEnded();
    expect(ended.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(ended.details).toBe('account deleted');
    // Bob's unread message from alice was withdrawn; his stream goes on.
    await bobStream.until('the deletion notice', () => bobStream.deleted.length > 0);
    expect(bobStream.status).toBeUndefined();
    expect((await raw.failure(raw.client.listConversations, {}, alice)).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(
      (await raw.failure(raw.client.login, { username: 'alice', password: 'alice-secret-pw', idempotencyKey: '' }))
        .code,
    ).toBe(grpc.status.UNAUTHENTICATED);
    bobStream.cancel();
  });
});

describe('leadership', () => {
  let follower: LocalServer;

  beforeEach(async () => {
    cluster = new LocalCluster(['A', 'B'], 'A');
    server = await startLocalServer(cluster.replica('A'));
    follower = await startLocalServer(cluster.replica('B'));
    raw = new RawChat(server.address);
  });

  afterEach(async () => {
    await follower.stop();
  });

  it('a follower refuses with UNAVAILABLE and names the leader in the trailers', async () => {
    const toFollower = new RawChat(follower.address);
    extra.push(toFollower);
    const err = await toFollower.failure(toFollower.client.createAccount, {
      username: 'x',
      password: 'long-enough',
      idempotencyKey: '',
    });
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.metadata.get('x-leader-address')).toEqual([server.address]);
    expect(err.metadata.get('x-leader-id')).toEqual(['A']);
    expect(err.details).toContain(server.address);
    const stream = toFollower.subscribe('whatever');
    const status = await stream.untilEnded();
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.metadata.get('x-leader-address')).toEqual([server.address]);
  });

  it('ends every stream with UNAVAILABLE when the replica stops leading', async () => {
    const alice = await raw.createUser('alice');
    const stream = raw.subscribe(alice);
    await stream.until('stream open', () => server.chat.metrics().openStreams === 1);
    cluster.setLeader('B');
    const status = await stream.untilEnded();
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(server.chat.metrics().openStreams).toBe(0);
    // The new leader serves the same session.
    const atB = new RawChat(follower.address);
    extra.push(atB);
    expect((await atB.call(atB.client.listConversations, {}, alice)).conversations).toEqual([]);
  });

  it("keeps the sender's key across a failover: the new leader applied the send too", async () => {
    const alice = await raw.createUser('alice');
    await raw.createUser('bob');
    const sent = await raw.send(alice, 'bob', 'before the failover', 'key-before');
    cluster.setLeader('B');
    const atB = new RawChat(follower.address);
    extra.push(atB);
    const stream = atB.subscribe(alice);
    await stream.untilMessages(1);
    expect(stream.messages[0]).toMatchObject({ id: sent.id, idempotencyKey: 'key-before' });
    stream.cancel();
  });

  it('counts connected clients and open streams', async () => {
    const alice = await raw.createUser('alice');
    const stream = raw.subscribe(alice);
    await stream.until('stream open', () => server.chat.metrics().openStreams === 1);
    expect(server.chat.metrics().connectedClients).toBe(1);
    stream.cancel();
    await stream.until('stream closed', () => server.chat.metrics().openStreams === 0);
  });
});
