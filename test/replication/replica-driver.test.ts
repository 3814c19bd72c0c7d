/**
 * Three chat replicas (ReplicaDriver over the chat state machine) in one
 * process, talking over real gRPC peer streams on loopback with their own
 * SQLite files: ops submitted to the leader commit on all of them, a follower
 * refuses, and a stopped leader is replaced.
 */
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ReplicationServiceService } from '../../src/gen/chat/v1/replication.js';
import type { ChatOp } from '../../src/server/chat/operations.js';
import { ChatReplica } from '../../src/server/chat-replica.js';
import { NotLeaderError } from '../../src/server/replica/handle.js';
import { PeerAuth } from '../../src/server/rpc/peer-auth.js';
import { createPeerService } from '../../src/server/rpc/peer-service.js';
import { PeerTransport } from '../../src/server/rpc/peer-transport.js';
import { SnapshotInbox } from '../../src/server/rpc/snapshot-inbox.js';
import { openReplicaDatabase } from '../../src/server/replica-database.js';
import { freePort, waitUntil } from '../support/cluster.js';

interface Node {
  id: string;
  replica: ChatReplica;
  server: grpc.Server;
  stop(): Promise<void>;
}

const logger = pino({ level: 'silent' });

const secret = Buffer.from('a cluster secret for this test only');

async function startNode(id: string, members: { id: string; address: string }[], dir: string): Promise<Node> {
  const db = openReplicaDatabase(join(dir, id));
  // The address is the peer listener's: this test serves no clients.
  const address = members.find((m) => m.id === id)!.address;
  const auth = new PeerAuth({ cluster: 'test', self: id, secret });
  const transport = new PeerTransport(auth, address, logger);
  const replica = new ChatReplica({
    id,
    cluster: 'test',
    members: members.map((m) => ({ ...m, peerAddress: m.address })),
    db,
    logger,
    transport,
  });
  const server = new grpc.Server();
  server.addService(
    ReplicationServiceService,
    createPeerService({
      auth,
      deliver: (m, from, s) => replica.deliver(m, from, s),
      logger,
      inbox: new SnapshotInbox(join(dir, id)),
      checkSnapshot: (path) => replica.chat.checkSnapshotFile(path),
      identity: () => ({ id, cluster: 'test', mode: 'in-sync', members: replica.members().length }),
    }),
  );
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  replica.start();
  return {
    id,
    replica,
    server,
    stop: async () => {
      await replica.stop();
      server.forceShutdown();
      db.close();
    },
  };
}

describe('replica drivers over gRPC', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup.length = 0;
  });

  it('commits on every replica, refuses writes on followers and fails over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replica-driver-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const members: { id: string; address: string }[] = [];
    for (const id of ['A', 'B', 'C']) members.push({ id, address: `127.0.0.1:${await freePort()}` });
    const nodes = await Promise.all(members.map((m) => startNode(m.id, members, dir)));
    const running = new Set(nodes);
    cleanup.push(async () => {
      for (const n of running) await n.stop();
    });

    const leaderOf = () =>
      waitUntil('a ready leader', 10_000, async () => {
        for (const n of running) {
          try {
            await n.replica.ensureLeaderReady();
            return n;
          } catch {
            // not this one
          }
        }
        return undefined;
      });
    let leader = await leaderOf();
    const op: ChatOp = {
      type: 'createAccount',
      at: 1_700_000_000_000,
      key: 'k1',
      username: 'alice',
      passwordHash: 'scrypt$1$1$1$c2FsdA$aGFzaA',
    };
    const outcome = await leader.replica.submit(op);
    expect(outcome.ok).toBe(true);

    const follower = nodes.find((n) => n !== leader)!;
    await expect(follower.replica.submit({ ...op, key: 'k2', username: 'bob' })).rejects.toBeInstanceOf(NotLeaderError);
    await waitUntil(
      'every replica to apply the account',
      5_000,
      () => nodes.every((n) => n.replica.chat.accountByName('alice')) || undefined,
    );

    await leader.stop();
    running.delete(leader);
    leader = await leaderOf();
    const again = await leader.replica.submit({ ...op, key: 'k3', username: 'carol' });
    expect(again.ok).toBe(true);
    // The retried first op is answered from the replicated idempotency record, not applied twice.
    const replay = await leader.replica.submit(op);
    expect(replay.ok && replay.replayed).toBe(true);
    const digests = await waitUntil('the survivors to agree', 5_000, () => {
      const d = [...running].map((n) => n.replica.digest());
      return d.every((x) => x.digest === d[0]!.digest && x.appliedIndex === d[0]!.appliedIndex) ? d : undefined;
    });
    expect(digests).toHaveLength(2);
  });
});
