/**
 * Requests no client of ours sends, against the real ChatService and the
 * client plane's guards: numbers beyond 2^53 - 1, invalid UTF-8, truncated
 * protobuf. Each is answered at once with INVALID_ARGUMENT saying what is
 * wrong, never INTERNAL, and nothing is stored.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { CreateAccountRequest, GetHistoryRequest } from '../../src/gen/chat/v1/chat.js';
import { craft, rawBytesTarget } from './raw-bytes.js';

const target = rawBytesTarget();

const CHAT = '/chat.v1.ChatService/';
const TWO_53 = 2n ** 53n;
const TWO_64_MINUS_1 = 2n ** 64n - 1n;
const INVALID_UTF8 = Uint8Array.from([0x61, 0xff, 0xfe, 0x62]);

describe('numbers beyond 2^53 - 1', () => {
  it('refuses an id of 2^53 or 2^64 - 1 in every kind of call with INVALID_ARGUMENT, and takes 2^53 - 1 as a number', async () => {
    const peer = craft.bytes(1, Buffer.from('bob'));
    for (const value of [TWO_53, TWO_64_MINUS_1]) {
      const history = await target.raw().unary(`${CHAT}GetHistory`, craft.concat(peer, craft.varint(2, value)));
      expect(history.code, `GetHistory before_id ${value}`).toBe(grpc.status.INVALID_ARGUMENT);
      expect(history.details).toMatch(/2\^53/);
      const deletion = await target.raw().unary(`${CHAT}DeleteMessages`, craft.varint(1, value));
      expect(deletion.code, `DeleteMessages ids [${value}]`).toBe(grpc.status.INVALID_ARGUMENT);
      const subscribe = await target.raw().serverStream(`${CHAT}Subscribe`, craft.varint(1, value));
      expect(subscribe.code, `Subscribe after ${value}`).toBe(grpc.status.INVALID_ARGUMENT);
    }
    // The largest exact number decodes: the call gets as far as asking for a session.
    const largest = await target.raw().unary(`${CHAT}GetHistory`, craft.concat(peer, craft.varint(2, TWO_53 - 1n)));
    expect(largest.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});

describe('invalid UTF-8', () => {
  it('refuses invalid UTF-8 in a password, a username, a message text and a key, and stores nothing', async () => {
    const valid = (s: string) => Buffer.from(s, 'utf8');
    const cases: [string, Uint8Array][] = [
      ['CreateAccount password', craft.concat(craft.bytes(1, valid('mallory')), craft.bytes(2, INVALID_UTF8))],
      ['CreateAccount username', craft.concat(craft.bytes(1, INVALID_UTF8), craft.bytes(2, valid('long enough pw')))],
      [
        'CreateAccount key',
        craft.concat(
          craft.bytes(1, valid('mallory')),
          craft.bytes(2, valid('long enough pw')),
          craft.bytes(3, INVALID_UTF8),
        ),
      ],
    ];
    for (const [what, request] of cases) {
      const answer = await target.raw().unary(`${CHAT}CreateAccount`, request);
      expect(answer.code, what).toBe(grpc.status.INVALID_ARGUMENT);
      expect(answer.details, what).toMatch(/UTF-8/);
    }
    const text = await target
      .raw()
      .unary(`${CHAT}SendMessage`, craft.concat(craft.bytes(1, valid('bob')), craft.bytes(2, INVALID_UTF8)));
    expect(text.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(target.cluster().chat.accountByName('mallory')).toBeUndefined();
    // U+FFFD itself is text like any other: the same request with it, well encoded, is taken.
    const replacement = CreateAccountRequest.encode({
      username: 'carol',
      password: 'pass\uFFFDword',
      idempotencyKey: '',
    }).finish();
    expect((await target.raw().unary(`${CHAT}CreateAccount`, replacement)).code).toBe(grpc.status.OK);
  });
});

describe('broken protobuf', () => {
  it('answers a truncated message, a bad tag and garbage with INVALID_ARGUMENT on the chat and cluster services', async () => {
    const whole = GetHistoryRequest.encode({ peer: 'bob', beforeId: 12345, limit: 10 }).finish();
    const truncated = whole.subarray(0, 3); // inside the peer's name
    const answers = [
      await target.raw().unary(`${CHAT}GetHistory`, truncated),
      await target.raw().unary(`${CHAT}Login`, Uint8Array.from([0x0a, 0x05, 0x61])),
      await target.raw().unary(`${CHAT}Login`, Uint8Array.from([0x07])), // field 0: an illegal tag
      await target.raw().unary('/chat.v1.ClusterService/AddReplica', craft.bytes(1, INVALID_UTF8)),
    ];
    for (const [i, a] of answers.entries()) {
      expect(a.code, `case ${i}: ${a.details}`).toBe(grpc.status.INVALID_ARGUMENT);
      expect(a.details).not.toMatch(/Error deserializing/);
    }
  });
});
