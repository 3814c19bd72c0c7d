/**
 * The chat client against in-process replicas served over real gRPC on
 * loopback: leader finding, redirects, retries with one idempotency key,
 * connection states, and subscriptions that survive a failover.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ChatClient, ChatError, type ChatMessage, type ConnectionState } from '../../src/client/index.js';
import { freePort, waitUntil } from '../support/cluster.js';
import { LocalCluster, startLocalServer, type LocalServer } from '../support/local-replica.js';

let cluster: LocalCluster | undefined;
const servers: LocalServer[] = [];
const clients: ChatClient[] = [];

function client(addresses: string[], options: { retryBudgetMs?: number } = {}): ChatClient {
  const c = new ChatClient({ servers: addresses, deadlineMs: 2_000, retryBudgetMs: options.retryBudgetMs ?? 8_000 });
  clients.push(c);
  return c;
}

async function serve(ids: string[], leader: string | null = ids[0] ?? null): Promise<LocalServer[]> {
  cluster = new LocalCluster(ids, leader);
  const started = [];
  for (const id of ids) started.push(await startLocalServer(cluster.replica(id)));
  servers.push(...started);
  return started;
}

async function signedIn(addresses: string[], name: string): Promise<ChatClient> {
  const c = client(addresses);
  await c.createAccount(name, `${name}-password`);
  await c.login(name, `${name}-password`);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  cluster?.close();
  cluster = undefined;
});

describe('finding and following the leader', () => {
  it('finds the leader through a follower and learns the other addresses', async () => {
    const [a, b] = await serve(['A', 'B'], 'B');
    const alice = client([a!.address]);
    await alice.createAccount('alice', 'alice-password');
    expect(alice.connection()).toEqual({
      kind: 'connected',
      replicaId: 'B',
      address: b!.address,
      epoch: cluster!.epoch,
    });
    expect(alice.knownAddresses()).toEqual([a!.address, b!.address]);
  });

  it('follows a redirect when leadership moves, and reports the new leader', async () => {
    const [a, b] = await serve(['A', 'B'], 'A');
    const alice = await signedIn([a!.address, b!.address], 'alice');
    const states: ConnectionState[] = [];
    alice.onConnectionChange((s) => states.push(s));
    cluster!.setLeader('B');
    const sent = await alice.sendMessage('alice', 'after the move');
    expect(sent.text).toBe('after the move');
    // A refused (UNAVAILABLE naming B) without submitting anything; B took the write.
    expect(cluster!.replica('A').submitted.filter((op) => op.type === 'sendMessage')).toHaveLength(0);
    expect(cluster!.replica('B').submitted.filter((op) => op.type === 'sendMessage')).toHaveLength(1);
    expect(alice.connection()).toMatchObject({ kind: 'connected', replicaId: 'B', address: b!.address });
    expect(states.at(-1)).toMatchObject({ kind: 'connected', replicaId: 'B' });
  });

  it('retries a write whose answer was lost and applies it once (one idempotency key)', async () => {
    const [a] = await serve(['A']);
    const alice = await signedIn([a!.address], 'alice');
    await (await signedIn([a!.address], 'bob')).listConversations();
    const replica = cluster!.replica('A');
    replica.faults.push('apply-then-fail', 'refuse');
    const message = await alice.sendMessage('bob', 'exactly once');
    const sends = replica.submitted.filter((op) => op.type === 'sendMessage');
    expect(sends).toHaveLength(3);
    expect(new Set(sends.map((op) => op.key)).size).toBe(1);
    const history = await alice.getHistory('bob');
    expect(history.messages.map((m) => [m.id, m.text])).toEqual([[message.id, 'exactly once']]);
  });

  it('uses a caller-chosen idempotency key across separate calls', async () => {
    const [a] = await serve(['A']);
    const alice = await signedIn([a!.address], 'alice');
    const first = await alice.sendMessage('alice', 'note', { idempotencyKey: 'note-1' });
    const again = await alice.sendMessage('alice', 'note', { idempotencyKey: 'note-1' });
    expect(again.id).toBe(first.id);
    expect((await alice.getHistory('alice')).messages).toHaveLength(1);
  });

  it('takes a deleted account as deleted when the first answer was lost', async () => {
    const [a] = await serve(['A']);
    const alice = await signedIn([a!.address], 'alice');
    cluster!.replica('A').faults.push('apply-then-fail');
    await alice.deleteAccount('alice-password');
    expect(alice.username).toBeUndefined();
    expect(cluster!.chat.accountByName('alice')).toBeUndefined();
  });

  it('surfaces final failures as ChatError with the status name and the server message', async () => {
    const [a] = await serve(['A']);
    const alice = await signedIn([a!.address], 'alice');
    const err = await alice.sendMessage('nobody', 'hi').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatError);
    expect((err as ChatError).code).toBe('NOT_FOUND');
    expect((err as ChatError).message).toContain('nobody');
    const wrong = await alice.deleteAccount('not-the-password').catch((e: unknown) => e);
    expect((wrong as ChatError).code).toBe('UNAUTHENTICATED');
    expect(cluster!.chat.accountByName('alice')).toBeDefined();
    const fresh = client([a!.address]);
    expect(((await fresh.login('alice', 'bad-password').catch((e: unknown) => e)) as ChatError).code).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('gives up with UNAVAILABLE when no replica answers within the retry budget', async () => {
    const port = await freePort();
    const lonely = client([`127.0.0.1:${port}`], { retryBudgetMs: 300 });
    const err = await lonely.createAccount('x', 'long-enough').catch((e: unknown) => e);
    expect((err as ChatError).code).toBe('UNAVAILABLE');
    // It never reached anything: unreachable, not reconnecting.
    expect(lonely.connection().kind).toBe('unreachable');
  });

  it('close() stops retries and subscriptions: pending calls reject with CANCELLED', async () => {
    const port = await freePort();
    const c = client([`127.0.0.1:${port}`], { retryBudgetMs: 30_000 });
    const ends: Error[] = [];
    c.subscribe({ onMessage: () => undefined, onEnd: (e) => ends.push(e) });
    const pending = c.createAccount('x', 'long-enough').catch((e: unknown) => e);
    await waitUntil('a failed attempt', 5_000, () => c.connection().kind === 'unreachable');
    c.close();
    const err = (await pending) as ChatError;
    expect(err).toBeInstanceOf(ChatError);
    expect(err.code).toBe('CANCELLED');
    expect(ends).toEqual([]);
    await expect(c.listConversations()).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('says unreachable until the first contact and reconnecting after it', async () => {
    const [a] = await serve(['A']);
    const c = client([a!.address], { retryBudgetMs: 300 });
    await waitUntil('the first contact', 5_000, () => c.connection().kind === 'connected');
    await servers[0]!.stop();
    await expect(c.listConversations()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(c.connection()).toMatchObject({ kind: 'reconnecting' });
  });

  it('says whom the cluster waits for when no replica leads', async () => {
    const [a] = await serve(['A', 'B'], null);
    cluster!.waitingFor = ['C'];
    const c = client([a!.address], { retryBudgetMs: 300 });
    await waitUntil('the no-leader state', 5_000, () => c.connection().kind === 'no-leader');
    expect(c.connection()).toMatchObject({ kind: 'no-leader', waitingFor: ['C'] });
    cluster!.setLeader('B');
    await waitUntil('the client to find the new leader', 5_000, () => c.connection().kind === 'connected');
    expect(c.connection()).toMatchObject({ kind: 'connected', replicaId: 'B' });
    c.close();
    expect(c.connection()).toEqual({ kind: 'closed' });
  });
});

describe('subscriptions', () => {
  it('survive the leader going away and resume after the last id without doubles', async () => {
    const [a, b] = await serve(['A', 'B'], 'A');
    const addresses = [a!.address, b!.address];
    const bob = await signedIn(addresses, 'bob');
    const alice = await signedIn(addresses, 'alice');
    const received: ChatMessage[] = [];
    const ends: Error[] = [];
    const sub = bob.subscribe({ onMessage: (m) => received.push(m), onEnd: (e) => ends.push(e) });

    const sent: number[] = [];
    for (let i = 0; i < 3; i++) sent.push((await alice.sendMessage('bob', `before ${i}`)).id);
    await waitUntil('the first messages', 5_000, () => received.length >= 3);

    a!.kill();
    cluster!.setLeader('B');
    for (let i = 0; i < 3; i++) sent.push((await alice.sendMessage('bob', `after ${i}`)).id);
    await waitUntil('the messages sent after the failover', 8_000, () => received.length >= 6);
    await new Promise((r) => setTimeout(r, 50));

    expect(received.map((m) => m.id)).toEqual(sent);
    expect(sub.lastMessageId).toBe(sent.at(-1));
    expect(ends).toEqual([]);
    expect(bob.connection()).toMatchObject({ kind: 'connected', replicaId: 'B' });
    sub.close();
  });

  it('starts after the given id and reports deletions', async () => {
    const [a] = await serve(['A']);
    const alice = await signedIn([a!.address], 'alice');
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await alice.sendMessage('alice', `n${i}`)).id);
    const received: number[] = [];
    const deleted: number[][] = [];
    const sub = alice.subscribe(
      { onMessage: (m) => received.push(m.id), onDeleted: (d) => deleted.push(d) },
      { afterMessageId: ids[1] },
    );
    await waitUntil('the backlog', 5_000, () => received.length >= 2);
    await alice.deleteMessages([ids[0]!]);
    await waitUntil('the deletion', 5_000, () => deleted.length >= 1);
    expect(received).toEqual(ids.slice(2));
    expect(deleted).toEqual([[ids[0]]]);
    sub.close();
  });

  it('tell when a stream opens, pass presence and typing, and carry my own key on my copies', async () => {
    const [a, b] = await serve(['A', 'B'], 'A');
    const addresses = [a!.address, b!.address];
    const alice = await signedIn(addresses, 'alice');
    const bob = await signedIn(addresses, 'bob');
    await alice.sendMessage('bob', 'hello', { idempotencyKey: 'first-key' });
    const seen: string[] = [];
    const mine: ChatMessage[] = [];
    let opened = 0;
    const sub = alice.subscribe(
      {
        onMessage: (m) => mine.push(m),
        onPresence: (name, online) => seen.push(`${name} ${online ? 'online' : 'offline'}`),
        onTyping: (name) => seen.push(`${name} typing`),
        onOpen: () => (opened += 1),
      },
      { afterMessageId: 0 },
    );
    await waitUntil('the stream to open', 5_000, () => opened === 1);
    const bobSub = bob.subscribe({ onMessage: () => undefined });
    await waitUntil('bob online', 5_000, () => seen.includes('bob online'));
    await bob.notifyTyping('alice');
    await waitUntil('bob typing', 5_000, () => seen.includes('bob typing'));
    bobSub.close();
    await waitUntil('bob offline', 5_000, () => seen.includes('bob offline'));
    expect(mine.map((m) => m.idempotencyKey)).toEqual(['first-key']);
    // After a failover the stream opens again: the moment to read presence afresh.
    cluster!.setLeader('B');
    await waitUntil('the stream to open at B', 8_000, () => opened === 2);
    sub.close();
  });

  it('end with onEnd(UNAUTHENTICATED) when the account is deleted elsewhere', async () => {
    const [a] = await serve(['A']);
    const phone = await signedIn([a!.address], 'carol');
    const laptop = client([a!.address]);
    await laptop.login('carol', 'carol-password');
    const ends: Error[] = [];
    phone.subscribe({ onMessage: () => undefined, onEnd: (e) => ends.push(e) });
    await waitUntil('the stream to open', 5_000, () => servers[0]!.chat.metrics().openStreams === 1);
    await laptop.deleteAccount('carol-password');
    await waitUntil('the end of the subscription', 5_000, () => ends.length === 1);
    expect(ends[0]).toBeInstanceOf(ChatError);
    expect((ends[0] as ChatError).code).toBe('UNAUTHENTICATED');
    expect(ends[0]!.message).toBe('account deleted');
  });
});
