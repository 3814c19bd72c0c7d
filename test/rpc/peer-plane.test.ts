/**
 * The peer plane's handshake and checks, in process over loopback gRPC: a
 * replica with the cluster secret is heard; one with another secret, a caller
 * that names another replica, one that never says hello, one that changes
 * identity mid-stream or sends what does not decode is refused with a status,
 * and nothing reaches the replica. A snapshot that never ends frees its file.
 * With certificates, each side's must name the replica it claims to be.
 */
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicationServiceService, type PeerEnvelope } from '../../src/gen/chat/v1/replication.js';
import type { PeerMessage } from '../../src/server/replication/types.js';
import { guardService } from '../../src/server/rpc/guarded-server.js';
import { PeerAuth } from '../../src/server/rpc/peer-auth.js';
import { createPeerService } from '../../src/server/rpc/peer-service.js';
import { identifyPeer, PeerRefusedError, PeerTransport } from '../../src/server/rpc/peer-transport.js';
import { SnapshotInbox } from '../../src/server/rpc/snapshot-inbox.js';
import { issue, makeTestPki, replicaSan, type TestCertificate } from '../support/certs.js';
import { waitUntil } from '../support/cluster.js';
import { openPeerCall, peerEnvelope } from '../support/hostile-peer.js';

const logger = pino({ level: 'silent' });
const SECRET = Buffer.from('the secret of this test cluster');
const CLUSTER = 'test';

let dir: string;
let server: grpc.Server;
let address: string;
let inbox: SnapshotInbox;
const delivered: PeerMessage[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'peer-plane-'));
  inbox = new SnapshotInbox(dir, { maxBytes: 3 * 1024 * 1024, idleMs: 400, maxTransfers: 2 });
  server = new grpc.Server();
  server.addService(
    guardService(ReplicationServiceService),
    createPeerService({
      auth: new PeerAuth({ cluster: CLUSTER, self: 'B', secret: SECRET }),
      deliver: (m, _from, snapshot) => {
        delivered.push(m);
        snapshot?.discard();
      },
      inbox,
      checkSnapshot: () => undefined,
      identity: () => ({ id: 'B', cluster: CLUSTER, mode: 'in-sync', members: 0 }),
      logger,
      helloTimeoutMs: 300,
    }),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  address = `127.0.0.1:${port}`;
});

afterAll(() => {
  server.forceShutdown();
  inbox.close();
  rmSync(dir, { recursive: true, force: true });
});

const probe = (from: string, to = 'B'): PeerMessage => ({
  from,
  to,
  epoch: 1,
  force: 0,
  incarnation: '',
  body: { type: 'probe', session: 1 },
});

describe('the handshake', () => {
  it('hears a replica that proves the secret, and identifies itself to it', async () => {
    const auth = new PeerAuth({ cluster: CLUSTER, self: 'A', secret: SECRET });
    const transport = new PeerTransport(auth, '127.0.0.1:1', logger);
    transport.connect([{ id: 'B', address }]);
    try {
      await waitUntil('a probe to arrive', 5_000, () => {
        transport.send(probe('A'));
        return delivered.some((m) => m.from === 'A') || undefined;
      });
    } finally {
      transport.close();
    }
    expect(await identifyPeer(auth, 'B', address, 3_000)).toMatchObject({ id: 'B', cluster: CLUSTER, members: 0 });
  });

  it('refuses a caller with another secret, and does not answer one that claims another replica', async () => {
    const stranger = new PeerAuth({
      cluster: CLUSTER,
      self: 'M',
      secret: Buffer.from("a secret that is not the cluster's"),
    });
    const refused = await identifyPeer(stranger, 'B', address, 3_000).catch((e: unknown) => e);
    // The caller finds out first: B's proof does not match its secret, so it sends nothing.
    expect(refused).toBeInstanceOf(PeerRefusedError);
    const wrongTarget = await identifyPeer(
      new PeerAuth({ cluster: CLUSTER, self: 'A', secret: SECRET }),
      'C',
      address,
      3_000,
    ).catch((e: grpc.ServiceError) => e);
    expect((wrongTarget as grpc.ServiceError).code).toBe(grpc.status.FAILED_PRECONDITION);
    expect((wrongTarget as grpc.ServiceError).details).toMatch(/this is replica B, not C/);
    expect(delivered.some((m) => m.from === 'M')).toBe(false);
  });
});

const insider = new PeerAuth({ cluster: CLUSTER, self: 'A', secret: SECRET });
const forged: PeerEnvelope = peerEnvelope({
  from: 'A',
  to: 'B',
  epoch: 640,
  cluster: CLUSTER,
  body: {
    $case: 'append',
    value: {
      prevIndex: 0,
      prevEpoch: 0,
      commitIndex: 1,
      session: 1,
      confirmedSession: 0,
      entries: [{ index: 1, epoch: 640, kind: 'op', data: Buffer.from('{}') }],
    },
  },
});

describe('what strangers send', () => {
  it('ends a call without the handshake at once, and one that never says hello after the timeout, hearing nothing', async () => {
    const before = delivered.length;
    const bare = await openPeerCall(address, 'Exchange');
    await bare.write(forged);
    expect((await bare.ended).code).toBe(grpc.status.UNAUTHENTICATED);
    const unproven = await openPeerCall(address, 'Exchange', {
      metadata: new PeerAuth({ cluster: CLUSTER, self: 'A' }).callMetadata('B').metadata,
    });
    await unproven.write(forged);
    const refused = await unproven.ended;
    expect(refused.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(refused.details).toMatch(/hello/);
    const silent = await openPeerCall(address, 'Exchange', {
      metadata: new PeerAuth({ cluster: CLUSTER, self: 'A' }).callMetadata('B').metadata,
    });
    expect((await silent.ended).details).toMatch(/no hello within/);
    const guessing = await openPeerCall(address, 'Exchange', {
      auth: new PeerAuth({ cluster: CLUSTER, self: 'A' }),
      to: 'B',
      forgedProof: randomBytes(32),
    });
    await guessing.write(forged);
    const guessed = await guessing.ended;
    expect(guessed.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(guessed.details).toMatch(/did not prove it knows the cluster secret/);
    expect(delivered.length).toBe(before);
  });
});

describe('what an authenticated peer may not send either', () => {
  it('ends the call of a peer that changes identity, or sends what does not decode, a bad config entry or an unknown entry kind', async () => {
    const before = delivered.length;
    const cases: [string, PeerEnvelope | Uint8Array, grpc.status, RegExp][] = [
      ['another sender', { ...forged, from: 'C' }, grpc.status.PERMISSION_DENIED, /from "C"/],
      ['bytes that do not decode', Uint8Array.from([0x0a, 0xff, 0x01]), grpc.status.INVALID_ARGUMENT, /protobuf/],
      [
        'a config entry that is not JSON',
        withEntry({ index: 1, epoch: 1, kind: 'config', data: Buffer.from('{nope') }),
        grpc.status.INVALID_ARGUMENT,
        /config entry 1/,
      ],
      [
        'a config with a replica twice',
        withEntry({
          index: 1,
          epoch: 1,
          kind: 'config',
          data: Buffer.from(
            JSON.stringify({
              replicas: [
                { id: 'A', address: '127.0.0.1:1', slot: 0, learner: false },
                { id: 'A', address: '127.0.0.1:2', slot: 1, learner: false },
              ],
              inSync: ['A'],
              nextSlot: 2,
            }),
          ),
        }),
        grpc.status.INVALID_ARGUMENT,
        /twice/,
      ],
      [
        'an unknown entry kind',
        withEntry({ index: 1, epoch: 1, kind: 'drop-tables', data: Buffer.alloc(0) }),
        grpc.status.INVALID_ARGUMENT,
        /unknown kind/,
      ],
      [
        'entries out of order',
        {
          ...forged,
          body: {
            $case: 'append',
            value: {
              prevIndex: 5,
              prevEpoch: 1,
              commitIndex: 0,
              session: 1,
              confirmedSession: 0,
              entries: [{ index: 9, epoch: 1, kind: 'noop', data: Buffer.alloc(0) }],
            },
          },
        },
        grpc.status.INVALID_ARGUMENT,
        /index 9/,
      ],
    ];
    for (const [what, message, code, details] of cases) {
      const call = await openPeerCall(address, 'Exchange', { auth: insider, to: 'B' });
      await call.write(message);
      const status = await call.ended;
      expect(status.code, what).toBe(code);
      expect(status.details, what).toMatch(details);
    }
    expect(delivered.length).toBe(before);
  });

  it('refuses a snapshot past the size limit, frees one whose sender went away or went quiet, and keeps no file', async () => {
    const chunk = (offset: number, size: number, done = false): PeerEnvelope =>
      peerEnvelope({
        from: 'A',
        to: 'B',
        epoch: 64,
        cluster: CLUSTER,
        body: {
          $case: 'snapshot',
          value: {
            lastIndex: 10,
            lastEpoch: 64,
            config: { replicas: [], inSync: [], index: 0, epoch: 0, nextSlot: 0, force: 0 },
            offset,
            data: Buffer.alloc(size, 7),
            done,
            totalSize: 0,
          },
        },
      });
    const endless = await openPeerCall(address, 'InstallSnapshot', { auth: insider, to: 'B' });
    for (let i = 0; i < 4; i++) await endless.write(chunk(i * 1024 * 1024, 1024 * 1024)).catch(() => undefined);
    const tooBig = await endless.ended;
    expect(tooBig.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(tooBig.details).toMatch(/larger than this replica takes/);

    const abandoned = await openPeerCall(address, 'InstallSnapshot', { auth: insider, to: 'B' });
    await abandoned.write(chunk(0, 1024 * 1024));
    await waitUntil('the transfer to begin', 2_000, () => inbox.inFlight().transfers === 1 || undefined);
    abandoned.cancel();
    await waitUntil('the cancelled transfer to be freed', 2_000, () => inbox.inFlight().transfers === 0 || undefined);

    const quiet = await openPeerCall(address, 'InstallSnapshot', { auth: insider, to: 'B' });
    await quiet.write(chunk(0, 1024));
    const idle = await quiet.ended;
    expect(idle.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(inbox.inFlight()).toEqual({ transfers: 0, bytes: 0 });
    expect(readdirSync(inbox.dir)).toEqual([]);
    expect(existsSync(inbox.dir)).toBe(true);
  });
});

function withEntry(entry: { index: number; epoch: number; kind: string; data: Buffer }): PeerEnvelope {
  return {
    ...forged,
    epoch: 1,
    body: {
      $case: 'append',
      value: { prevIndex: 0, prevEpoch: 0, commitIndex: 0, session: 1, confirmedSession: 0, entries: [entry] },
    },
  };
}

describe('with certificates', () => {
  it('hears a replica whose certificate names it, and refuses one claiming another id or answering as another replica', async () => {
    const pki = makeTestPki(join(dir), []);
    const certOf = (id: string) => issue(pki, `replica-${id}`, ['IP:127.0.0.1', replicaSan(id, CLUSTER)]);
    const [a, b] = [certOf('A'), certOf('B')];
    const tlsOf = (c: TestCertificate) => ({ ca: pki.ca, cert: c.cert, key: c.key });
    const bAuth = new PeerAuth({ cluster: CLUSTER, self: 'B', tls: tlsOf(b) });
    const tlsServer = new grpc.Server();
    const heard: PeerMessage[] = [];
    tlsServer.addService(
      guardService(ReplicationServiceService),
      createPeerService({
        auth: bAuth,
        deliver: (m) => heard.push(m),
        inbox,
        checkSnapshot: () => undefined,
        identity: () => ({ id: 'B', cluster: CLUSTER, mode: 'in-sync', members: 3 }),
        logger,
        helloTimeoutMs: 300,
      }),
    );
    const port = await new Promise<number>((resolve, reject) =>
      tlsServer.bindAsync('127.0.0.1:0', bAuth.serverCredentials(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const tlsAddress = `127.0.0.1:${port}`;
    try {
      expect(
        await identifyPeer(new PeerAuth({ cluster: CLUSTER, self: 'A', tls: tlsOf(a) }), 'B', tlsAddress, 3_000),
      ).toMatchObject({ id: 'B' });
      // A's certificate does not make it C.
      const impostor = await identifyPeer(
        new PeerAuth({ cluster: CLUSTER, self: 'C', tls: tlsOf(a) }),
        'B',
        tlsAddress,
        3_000,
      ).catch((e: grpc.ServiceError) => e);
      expect((impostor as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
      expect((impostor as grpc.ServiceError).details).toMatch(/does not name replica C/);
      // Expecting D at B's address: B's certificate does not name D, so nothing is sent.
      const wrongServer = await identifyPeer(
        new PeerAuth({ cluster: CLUSTER, self: 'A', tls: tlsOf(a) }),
        'D',
        tlsAddress,
        3_000,
      ).catch((e: grpc.ServiceError) => e);
      expect((wrongServer as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
      expect((wrongServer as grpc.ServiceError).details).toMatch(/does not name replica D/);
      expect(heard).toEqual([]);
    } finally {
      tlsServer.forceShutdown();
    }
  });
});
