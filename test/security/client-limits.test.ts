/**
 * The client plane's limits, against a real replica: every bounded input at
 * its limit (taken) and one past it (refused with INVALID_ARGUMENT), the
 * request size at 64 KiB and one byte more (RESOURCE_EXHAUSTED), and a 60 MiB
 * request refused at once, without the replica losing a beat.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginRequest, SendMessageRequest } from '../../src/gen/chat/v1/chat.js';
import { CLIENT_MAX_REQUEST_BYTES } from '../../src/server/server.js';
import { RawChat } from '../rpc/raw-client.js';
import { RawBytesClient } from '../rpc/raw-bytes.js';
import { startTestServer, type TestServer } from '../support/in-process-server.js';

let server: TestServer;
let raw: RawChat;
let bytes: RawBytesClient;
let alice: string;

beforeAll(async () => {
  server = await startTestServer({ sendLimitSession: '1000/1s' });
  raw = new RawChat(server.address);
  bytes = new RawBytesClient(server.address);
  alice = await raw.createUser('alice', 'alice-password');
  await raw.createUser('bob', 'bob-password');
});

afterAll(async () => {
  raw.close();
  bytes.close();
  await server.stop();
});

const code = (p: Promise<unknown>) =>
  p.then(
    () => grpc.status.OK,
    (err: grpc.ServiceError) => err.code,
  );

describe('every bounded field, at its limit and one past it', () => {
  it('takes each at its limit and refuses each one past it with INVALID_ARGUMENT', async () => {
    const c = raw.client;
    const cases: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
      [
        'message text, 4096 characters',
        () => raw.send(alice, 'bob', 'x'.repeat(4096)),
        () => raw.send(alice, 'bob', 'x'.repeat(4097)),
      ],
      [
        'message text, 16 KiB of UTF-8',
        () => raw.send(alice, 'bob', '\u{1F600}'.repeat(4096)),
        () => raw.send(alice, 'bob', `${'\u{1F600}'.repeat(4096)}a`),
      ],
      [
        'password, 256 characters',
        () => raw.call(c.createAccount, { username: 'carol', password: 'p'.repeat(256), idempotencyKey: '' }),
        () => raw.call(c.createAccount, { username: 'carol2', password: 'p'.repeat(257), idempotencyKey: '' }),
      ],
      [
        'username, 32 characters',
        () => raw.call(c.createAccount, { username: 'u'.repeat(32), password: 'long-enough', idempotencyKey: '' }),
        () => raw.call(c.createAccount, { username: 'v'.repeat(33), password: 'long-enough', idempotencyKey: '' }),
      ],
      [
        'idempotency key, 128 characters',
        () => raw.send(alice, 'bob', 'hi', 'k'.repeat(128)),
        () => raw.send(alice, 'bob', 'hi', 'k'.repeat(129)),
      ],
      [
        'ids to delete, 500',
        () =>
          code(
            raw.call(
              c.deleteMessages,
              { ids: Array.from({ length: 500 }, (_, i) => 1_000_000 + i), idempotencyKey: '' },
              alice,
            ),
          ),
        () =>
          raw.call(c.deleteMessages, { ids: Array.from({ length: 501 }, (_, i) => i + 1), idempotencyKey: '' }, alice),
      ],
      [
        'unread to fetch, 1000',
        () => raw.call(c.fetchUnread, { limit: 1000, idempotencyKey: '' }, alice),
        () => raw.call(c.fetchUnread, { limit: 1001, idempotencyKey: '' }, alice),
      ],
      [
        'account pattern, 64 characters',
        () => raw.call(c.listAccounts, { pattern: '*'.repeat(64), pageSize: 0, pageToken: '' }, alice),
        () => raw.call(c.listAccounts, { pattern: '*'.repeat(65), pageSize: 0, pageToken: '' }, alice),
      ],
    ];
    for (const [what, atLimit, pastLimit] of cases) {
      // At the limit the input is taken (deleting ids nobody has is NOT_FOUND, not a bad request).
      expect([grpc.status.OK, grpc.status.NOT_FOUND], what).toContain(await code(atLimit()));
      expect(await code(pastLimit()), what).toBe(grpc.status.INVALID_ARGUMENT);
    }
  });
});

describe('request size', () => {
  /** A SendMessage request of exactly `size` bytes. */
  const sendOfSize = (size: number): Uint8Array => {
    let text = 'x'.repeat(size);
    let encoded = SendMessageRequest.encode({ recipient: 'bob', text, idempotencyKey: '' }).finish();
    text = text.slice(0, text.length - (encoded.length - size));
    encoded = SendMessageRequest.encode({ recipient: 'bob', text, idempotencyKey: '' }).finish();
    expect(encoded.length).toBe(size);
    return encoded;
  };

  it('reads a request of 64 KiB and refuses one byte more with RESOURCE_EXHAUSTED', async () => {
    const session = new grpc.Metadata();
    session.set('authorization', `Bearer ${alice}`);
    const atLimit = await bytes.unary(
      '/chat.v1.ChatService/SendMessage',
      sendOfSize(CLIENT_MAX_REQUEST_BYTES),
      session,
    );
    // Read and judged by the handler: far too much text for a message.
    expect(atLimit.code).toBe(grpc.status.INVALID_ARGUMENT);
    const past = await bytes.unary(
      '/chat.v1.ChatService/SendMessage',
      sendOfSize(CLIENT_MAX_REQUEST_BYTES + 1),
      session,
    );
    expect(past.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('refuses a 60 MiB log-in at once, and the replica goes on leading and serving', async () => {
    const epoch = server.running.replica.status().epoch;
    const huge = LoginRequest.encode({
      username: 'alice',
      password: 'p'.repeat(60 * 1024 * 1024),
      idempotencyKey: '',
    }).finish();
    const answer = await bytes.unary('/chat.v1.ChatService/Login', huge, new grpc.Metadata(), 30_000);
    expect(answer.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // Refused on the length prefix, long before 60 MiB could be read (loosely: this is not a benchmark).
    expect(answer.ms).toBeLessThan(5_000);
    expect(server.running.replica.status()).toMatchObject({ role: 'leader', epoch });
    expect(
      (await raw.call(raw.client.login, { username: 'alice', password: 'alice-password', idempotencyKey: '' }))
        .username,
    ).toBe('alice');
  });
});
