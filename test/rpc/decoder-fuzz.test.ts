/**
 * Property-based fuzzing (fast-check) of everything that decodes bytes from
 * the network or the log: every request deserializer of every service, the
 * peer codec's checks, and the chat state machine's op entries. No input may throw out of them; every
 * request gets a status; every op entry is applied (or refused) the same way
 * on every replica. A failure prints the seed and the shrunk input.
 */
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChatServiceService } from '../../src/gen/chat/v1/chat.js';
import { ClusterServiceService } from '../../src/gen/chat/v1/cluster.js';
import { ReplicationServiceService, type PeerEnvelope } from '../../src/gen/chat/v1/replication.js';
import { OP_TYPES } from '../../src/server/chat/apply.js';
import { ChatState } from '../../src/server/chat/chat-state.js';
import { ChatStateMachine, encodeOp } from '../../src/server/chat/state-machine.js';
import { openMemoryReplicaDatabase } from '../../src/server/replica-database.js';
import { decodeConfig } from '../../src/server/replication/membership.js';
import { guardService, MalformedRequest } from '../../src/server/rpc/guarded-server.js';
import { readEnvelope } from '../../src/server/rpc/peer-codec.js';
import { rawBytesTarget } from './raw-bytes.js';
import { peerEnvelope } from '../support/hostile-peer.js';

const SERVICES = { ChatServiceService, ClusterServiceService, ReplicationServiceService };

/** Bytes that are protobuf-ish more often than not: valid tags, lengths that may lie, varints of any size. */
const protobufish = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc
    .array(
      fc.oneof(
        fc
          .tuple(fc.integer({ min: 1, max: 20 }), fc.constantFrom(0, 1, 2, 5), fc.uint8Array({ maxLength: 12 }))
          .map(([field, wire, body]) => {
            const tag = (field << 3) | wire;
            return Uint8Array.from([tag, ...(wire === 2 ? [body.length + (body[0]! % 3) - 1] : []), ...body]);
          }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => {
          const out = [0x08];
          let n = v;
          do {
            out.push(Number(n & 0x7fn) | (n > 0x7fn ? 0x80 : 0));
            n >>= 7n;
          } while (n > 0n);
          return Uint8Array.from(out);
        }),
      ),
      { maxLength: 6 },
    )
    .map((parts) => Uint8Array.from(parts.flatMap((p) => [...p]))),
);

describe('request deserializers', () => {
  it('never throw, for any bytes, on any method of any service', () => {
    const methods = Object.values(SERVICES).flatMap((service) => Object.values(guardService(service)));
    fc.assert(
      fc.property(fc.constantFrom(...methods), protobufish, (method, bytes) => {
        const decoded = method.requestDeserialize(Buffer.from(bytes));
        expect(decoded instanceof MalformedRequest || (typeof decoded === 'object' && decoded !== null)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  describe('over the network', () => {
    const target = rawBytesTarget();

    it('answers every request to every unary chat and cluster method with a status, never INTERNAL or UNKNOWN', async () => {
      const unary = [ChatServiceService, ClusterServiceService]
        .flatMap((s) => Object.values(s))
        .filter((m) => !m.requestStream && !m.responseStream);
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...unary.map((m) => m.path)), protobufish, async (path, bytes) => {
          const answer = await target.raw().unary(path, bytes, new grpc.Metadata(), 3_000);
          expect([grpc.status.INTERNAL, grpc.status.UNKNOWN, grpc.status.DEADLINE_EXCEEDED]).not.toContain(answer.code);
        }),
        { numRuns: 150 },
      );
    });
  });
});

describe('the peer codec', () => {
  const id = fc.oneof(fc.constantFrom('A', 'B', 'C', ''), fc.string({ maxLength: 40 }));
  const address = fc.oneof(fc.constantFrom('127.0.0.1:50051', '10.0.0.2:51051', ''), fc.string({ maxLength: 30 }));
  const count = fc.oneof(fc.nat({ max: 10 }), fc.constant(Number.MAX_SAFE_INTEGER));
  const incarnation = fc.oneof(
    fc.constantFrom('', '1b4e28ba-2fa1-11d2-883f-0016d3cca427'),
    fc.string({ maxLength: 70 }),
  );
  const replica = fc.record({ id, address, peerAddress: address, slot: count, learner: fc.boolean(), incarnation });
  const configView = fc.record({
    inSync: fc.array(id, { maxLength: 4 }),
    index: count,
    epoch: count,
    replicas: fc.array(replica, { maxLength: 5 }),
    nextSlot: count,
    force: count,
  });
  const configData = fc
    .oneof(
      configView.map((c) =>
        JSON.stringify({ replicas: c.replicas, inSync: c.inSync, nextSlot: c.nextSlot, force: c.force }),
      ),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 20 }),
    )
    .map((text) => Buffer.from(text));
  const entry = fc.record({
    index: count,
    epoch: count,
    kind: fc.constantFrom('op', 'config', 'noop', 'other', ''),
    data: fc.oneof(
      configData,
      fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)),
    ),
  });
  const info = fc.record({
    caughtUp: fc.boolean(),
    leaderId: id,
    lastIndex: count,
    lastEpoch: count,
    config: fc.option(configView, { nil: undefined }),
    leaderContactMsAgo: fc.integer(),
    isLeader: fc.boolean(),
  });
  const body = fc.oneof(
    fc.record({
      $case: fc.constant('append' as const),
      value: fc.record({
        prevIndex: count,
        prevEpoch: count,
        entries: fc.array(entry, { maxLength: 4 }),
        commitIndex: count,
      }),
    }),
    fc.record({
      $case: fc.constant('promiseReply' as const),
      value: fc.record({
        preVote: fc.boolean(),
        granted: fc.boolean(),
        reason: fc.string({ maxLength: 10 }),
        info: fc.option(info, { nil: undefined }),
      }),
    }),
    fc.record({
      $case: fc.constant('probeReply' as const),
      value: fc.record({ info: fc.option(info, { nil: undefined }) }),
    }),
    fc.record({
      $case: fc.constant('snapshot' as const),
      value: fc.record({
        lastIndex: count,
        lastEpoch: count,
        config: fc.option(configView, { nil: undefined }),
        offset: count,
        data: fc.constant(Buffer.alloc(0)),
        done: fc.boolean(),
        totalSize: count,
      }),
    }),
    fc.record({ $case: fc.constant('hello' as const), value: fc.record({ proof: fc.constant(Buffer.alloc(0)) }) }),
    fc.constant(undefined),
  );
  const envelope = fc.record({
    from: id,
    to: id,
    epoch: count,
    force: count,
    incarnation,
    cluster: fc.constant('chat'),
    fromAddress: address,
    senderVersion: fc.constant(''),
    senderCommit: fc.constant(''),
    protocolVersion: fc.constant(0),
    body,
  });

  it('checks any envelope without throwing, and passes on only appends the core can take', () => {
    fc.assert(
      fc.property(envelope, (env) => {
        const read = readEnvelope(env as PeerEnvelope);
        if (!read.ok) return;
        expect(Number.isSafeInteger(read.message.force) && read.message.force >= 0).toBe(true);
        expect(read.message.incarnation).toMatch(/^[0-9A-Za-z-]{0,64}$/);
        if (read.message.body.type !== 'append') return;
        const { prevIndex, entries } = read.message.body;
        entries.forEach((e, i) => {
          expect(e.index).toBe(prevIndex + 1 + i);
          expect(['op', 'config', 'noop']).toContain(e.kind);
          if (e.kind === 'config') expect(() => decodeConfig(e)).not.toThrow();
        });
      }),
      { numRuns: 3000 },
    );
  });

  it('takes a config entry whose in-sync set still names the member being removed, and refuses bad or repeated ids there', () => {
    const withInSync = (inSync: string[]) => {
      const data = Buffer.from(
        JSON.stringify({
          replicas: [
            { id: 'A', address: '127.0.0.1:1', slot: 0, learner: false },
            { id: 'B', address: '127.0.0.1:2', slot: 1, learner: false },
          ],
          inSync,
          nextSlot: 3,
        }),
      );
      const append = {
        prevIndex: 0,
        prevEpoch: 0,
        commitIndex: 0,
        session: 1,
        confirmedSession: 0,
        entries: [{ index: 1, epoch: 1, kind: 'config', data }],
      };
      return readEnvelope(
        peerEnvelope({
          from: 'A',
          to: 'B',
          epoch: 1,
          body: { $case: 'append', value: append },
        }),
      );
    };
    // The core keeps a departing in-sync member (C) in the set until its removal commits.
    expect(withInSync(['A', 'B', 'C']).ok).toBe(true);
    expect(withInSync(['A', 'A'])).toMatchObject({ ok: false, problem: expect.stringMatching(/names A twice/) });
    expect(withInSync(['A', 'not an id!'])).toMatchObject({ ok: false, problem: expect.stringMatching(/in-sync set/) });
  });
});

describe('op entries of the log', () => {
  const opTypes = [...OP_TYPES, 'nonsense'];
  const anyValue = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.string({ maxLength: 20 }),
    fc.constant(null),
    fc.boolean(),
    fc.array(fc.integer(), { maxLength: 4 }),
  );
  /** Ops of every type with every field possibly of the wrong type or missing. */
  const opLike = fc.record(
    {
      type: fc.constantFrom(...opTypes),
      at: fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), anyValue),
      key: fc.oneof(fc.string({ maxLength: 8 }), anyValue),
      username: fc.oneof(fc.constantFrom('alice', 'bob', ''), anyValue),
      passwordHash: fc.oneof(fc.constant('scrypt$1$1$1$c2FsdA$aGFzaA'), anyValue),
      userId: fc.oneof(fc.integer({ min: 0, max: 4 }), anyValue),
      senderId: fc.oneof(fc.integer({ min: 0, max: 4 }), anyValue),
      tokenHash: fc.oneof(fc.constantFrom('t1', 't2'), anyValue),
      recipient: fc.oneof(fc.constantFrom('alice', 'bob'), anyValue),
      text: fc.oneof(fc.string({ maxLength: 30 }), anyValue),
      limit: fc.oneof(fc.integer({ min: -2, max: 2000 }), anyValue),
      peer: fc.oneof(fc.constantFrom('alice', 'bob'), anyValue),
      upToId: fc.oneof(fc.integer({ min: -1, max: 10 }), anyValue),
      ids: fc.oneof(fc.array(fc.oneof(fc.integer({ min: -1, max: 10 }), anyValue), { maxLength: 5 }), anyValue),
    },
    { requiredKeys: [] },
  );
  const entryData = fc.oneof(
    opLike.map((op) => encodeOp(op as never)),
    fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v))),
    fc.uint8Array({ maxLength: 40 }),
  );

  it('applies or refuses any entry without throwing, and two replicas applying the same entries stay equal', () => {
    fc.assert(
      fc.property(fc.array(entryData, { minLength: 1, maxLength: 25 }), (datas) => {
        const replicas = [0, 1].map(() => {
          const db = openMemoryReplicaDatabase();
          return { db, machine: new ChatStateMachine(new ChatState(db)) };
        });
        try {
          const outcomes = replicas.map(({ machine }) =>
            datas.map((data, i) => machine.apply({ index: i + 1, epoch: 1, kind: 'op', data }).outcome),
          );
          expect(outcomes[1]).toEqual(outcomes[0]);
          expect(replicas[1]!.machine.digest()).toBe(replicas[0]!.machine.digest());
        } finally {
          for (const r of replicas) r.db.close();
        }
      }),
      { numRuns: 120 },
    );
  });

  it("takes the sender's lineage and incarnation, and refuses ones that cannot be", () => {
    const probe = (force: number, incarnation: string, replicaIncarnation = '') =>
      readEnvelope(
        peerEnvelope({
          from: 'A',
          to: 'B',
          epoch: 9,
          force,
          incarnation,
          body: {
            $case: 'probeReply',
            value: {
              info: {
                caughtUp: true,
                leaderId: 'A',
                lastIndex: 3,
                lastEpoch: 9,
                leaderContactMsAgo: 0,
                isLeader: true,
                session: 1,
                config: {
                  inSync: ['A'],
                  index: 1,
                  epoch: 9,
                  nextSlot: 1,
                  force: 9,
                  replicas: [
                    {
                      id: 'A',
                      address: '127.0.0.1:1',
                      peerAddress: '',
                      slot: 0,
                      learner: false,
                      incarnation: replicaIncarnation,
                    },
                  ],
                },
              },
              echo: 1,
            },
          },
        }),
      );
    const good = probe(9, '1b4e28ba-2fa1-11d2-883f-0016d3cca427', 'b6f1c2aa-0000-4000-8000-000000000001');
    expect(good).toMatchObject({
      ok: true,
      message: { force: 9, incarnation: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' },
    });
    expect(probe(-1, '')).toMatchObject({ ok: false, problem: expect.stringMatching(/lineage/) });
    expect(probe(2 ** 60, '')).toMatchObject({ ok: false, problem: expect.stringMatching(/lineage/) });
    expect(probe(0, 'x'.repeat(65))).toMatchObject({ ok: false, problem: expect.stringMatching(/incarnation/) });
    expect(probe(0, 'a/../b')).toMatchObject({ ok: false, problem: expect.stringMatching(/incarnation/) });
    expect(probe(0, '', 'not one\n')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/replica A has incarnation/),
    });
  });
});
