/**
 * Rate limits of the chat service: wrong passwords per account and log-ins
 * per address slow down to the documented rate (RESOURCE_EXHAUSTED with
 * retry-after-ms), the right password works again once the bucket refills,
 * other accounts and sessions are not held back, and sends per session too.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_RATE_LIMITS,
  parseRate,
  RETRY_AFTER_KEY,
  TokenBuckets,
  type RateLimits,
} from '../../src/server/rpc/rate-limits.js';
import { LocalCluster, startLocalServer, type LocalServer } from '../support/local-replica.js';
import { RawChat } from './raw-client.js';

let cluster: LocalCluster | undefined;
let server: LocalServer | undefined;
let raw: RawChat | undefined;

async function start(rateLimits: Partial<RateLimits>): Promise<RawChat> {
  cluster = new LocalCluster(['A']);
  server = await startLocalServer(cluster.replica('A'), { chat: { rateLimits } });
  raw = new RawChat(server.address);
  return raw;
}

afterEach(async () => {
  raw?.close();
  await server?.stop();
  cluster?.close();
});

const plenty = { burst: 1000, periodMs: 1000 };

describe('token buckets', () => {
  it('parse as a burst per period and refill at that rate', () => {
    expect(parseRate('10/1m', 'x')).toEqual({ burst: 10, periodMs: 60_000 });
    expect(parseRate('50/10s', 'x')).toEqual({ burst: 50, periodMs: 10_000 });
    expect(() => parseRate('ten a minute', '--login-limit-account')).toThrow(
      /--login-limit-account must look like 10\/1m/,
    );
    const buckets = new TokenBuckets({ burst: 2, periodMs: 1000 });
    expect([buckets.take('k', 0), buckets.take('k', 0)]).toEqual([0, 0]);
    expect(buckets.take('k', 0)).toBe(500);
    expect(buckets.take('other', 0)).toBe(0);
    expect(buckets.take('k', 500)).toBe(0);
    buckets.refund('k', 500);
    expect(buckets.take('k', 500)).toBe(0);
  });

  it('keep at most the keys they are given, dropping full buckets first', () => {
    const buckets = new TokenBuckets({ burst: 1, periodMs: 1000 }, 3);
    for (const key of ['a', 'b', 'c', 'd']) buckets.take(key, 0);
    // "a" went to make room: it may go again; "d" may not.
    expect(buckets.take('a', 1)).toBe(0);
    expect(buckets.take('d', 1)).toBeGreaterThan(0);
  });
});

describe('log-ins', () => {
  it('slow wrong passwords for an account down, tell when to retry, and let the right one in once the bucket refilled', async () => {
    // A burst of 3, then one a second.
    const chat = await start({
      loginPerAccount: { burst: 3, periodMs: 3000 },
      loginPerAddress: plenty,
      sendPerSession: plenty,
    });
    await chat.createUser('alice', 'alice-password');
    await chat.createUser('bob', 'bob-password');
    const attempts = [];
    const started = Date.now();
    for (let i = 0; i < 12; i++)
      attempts.push(
        await chat.failure(chat.client.login, {
          username: 'alice',
          password: `wrong-${i}-password`,
          idempotencyKey: '',
        }),
      );
    const checked = attempts.filter((e) => e.code === grpc.status.UNAUTHENTICATED).length;
    // Each checked password takes a hash's time; the bucket refills meanwhile at one a second, no faster.
    expect(checked).toBeGreaterThanOrEqual(3);
    expect(checked).toBeLessThanOrEqual(3 + Math.ceil((Date.now() - started) / 1000));
    expect(
      attempts.every((e) => e.code === grpc.status.UNAUTHENTICATED || e.code === grpc.status.RESOURCE_EXHAUSTED),
    ).toBe(true);
    const limited = attempts[11]!;
    expect(limited.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(limited.details).toMatch(/too many log-in attempts for 'alice' \(at most 3 per 3 s\); retry in \d+ s/);
    const wait = Number(limited.metadata.get(RETRY_AFTER_KEY)[0]);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(1000);
    // The right password too, until a token is back (or a guesser would learn it); another account is not held back meanwhile.
    const refusedAt = Date.now();
    const right = await chat
      .failure(chat.client.login, { username: 'ALICE', password: 'alice-password', idempotencyKey: '' })
      .catch(() => undefined);
    if (Date.now() - refusedAt < wait) expect(right?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(
      (await chat.call(chat.client.login, { username: 'bob', password: 'bob-password', idempotencyKey: '' })).username,
    ).toBe('bob');
    await new Promise((r) => setTimeout(r, wait + 50));
    expect(
      (await chat.call(chat.client.login, { username: 'alice', password: 'alice-password', idempotencyKey: '' }))
        .username,
    ).toBe('alice');
  });

  it('limit log-ins and new accounts from one address, whichever account they are for', async () => {
    const chat = await start({
      loginPerAccount: plenty,
      loginPerAddress: { burst: 4, periodMs: 60_000 },
      sendPerSession: plenty,
    });
    await chat.createUser('carol', 'carol-password'); // two hashes: the account and its log-in
    await chat.call(chat.client.login, { username: 'carol', password: 'carol-password', idempotencyKey: '' });
    expect(
      (await chat.failure(chat.client.login, { username: 'nobody', password: 'whatever-pw', idempotencyKey: '' })).code,
    ).toBe(grpc.status.UNAUTHENTICATED);
    const refused = await chat.failure(chat.client.createAccount, {
      username: 'dave',
      password: 'dave-password',
      idempotencyKey: '',
    });
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(/from this address/);
    expect(cluster!.chat.accountByName('dave')).toBeUndefined();
  });

  it('default to the documented numbers', () => {
    expect(DEFAULT_RATE_LIMITS).toEqual({
      loginPerAccount: { burst: 10, periodMs: 60_000 },
      loginPerAddress: { burst: 100, periodMs: 60_000 },
      sendPerSession: { burst: 50, periodMs: 10_000 },
    });
  });
});

describe('sends', () => {
  it("limit each session, not the user's other sessions", async () => {
    const chat = await start({
      loginPerAccount: plenty,
      loginPerAddress: plenty,
      sendPerSession: { burst: 5, periodMs: 60_000 },
    });
    const first = await chat.createUser('erin', 'erin-password');
    await chat.createUser('fred', 'fred-password');
    for (let i = 0; i < 5; i++) await chat.send(first, 'fred', `hello ${i}`);
    const refused = await chat.failure(
      chat.client.sendMessage,
      { recipient: 'fred', text: 'one too many', idempotencyKey: '' },
      first,
    );
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(/too many messages from this session/);
    const second = (
      await chat.call(chat.client.login, { username: 'erin', password: 'erin-password', idempotencyKey: '' })
    ).token;
    expect((await chat.send(second, 'fred', 'from my other session')).text).toBe('from my other session');
  });
});
