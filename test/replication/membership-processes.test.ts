/**
 * Membership changes with real chat-server processes, in both modes: a fourth
 * replica started with --join is added while a user keeps sending (it catches
 * up as a learner, then votes), then the leader itself is removed, shrinking
 * the cluster back to three. Nothing acknowledged may be lost or doubled, the
 * members must end with the same state, and a client that knows only the new
 * replica's address must find the others.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatClient, ClusterClient } from '../../src/client/index.js';
import { ClusterServiceClient, Role, type MembershipResponse } from '../../src/gen/chat/v1/cluster.js';
import { freePort, startCluster, waitUntil, type TestCluster } from '../support/cluster.js';
import { Conversation, expectEqualStates } from '../support/conversation.js';
import { wholeConversation } from '../../bench/lib/history.js';

let operator = new grpc.Metadata();

/** A call of the cluster service with the operators' admin token. */
function call<Req, Res>(
  fn: (
    req: Req,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res: Res) => void,
  ) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, operator, { deadline: Date.now() + 20_000 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

describe.each(['in-sync', 'majority'] as const)('membership changes with real processes (%s mode)', (mode) => {
  let cluster: TestCluster | undefined;
  const closers: { close(): void }[] = [];

  afterEach(async () => {
    for (const c of closers) c.close();
    closers.length = 0;
    await cluster?.stop();
    cluster = undefined;
  });

  it('grows from three replicas to four under load and shrinks back by removing the leader, losing nothing', async () => {
    cluster = await startCluster({ args: ['--mode', mode] });
    const c = cluster;
    operator = new grpc.Metadata();
    operator.set('authorization', `Bearer ${c.adminToken}`);
    const admins = new Map<string, ClusterServiceClient>();
    const admin = (id: string) => {
      let client = admins.get(id);
      if (!client) {
        client = new ClusterServiceClient(c.addressOf(id), grpc.credentials.createInsecure());
        admins.set(id, client);
        closers.push(client);
      }
      return client;
    };
    const chat = new Conversation(c);
    closers.push(chat);
    await chat.addUser('alice');
    await chat.addUser('bob');
    chat.start();
    const { acked } = chat;
    const progress = (what: string) => chat.progress(what, 10, 20_000);
    await progress('three replicas');

    // A new replica waits, as a learner of no cluster, until it is added.
    const dAddress = await c.spawnJoining('D');
    const dPeer = c.peerAddressOf('D');
    const waiting = await c.status('D');
    expect(waiting.role).toBe(Role.ROLE_LEARNER);
    expect(waiting.waitingReason).toMatch(/waiting to be added/);

    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader && id !== 'D')!;
    // Only the leader changes the membership; another replica says where it is.
    const refused = await call(admin(follower).addReplica.bind(admin(follower)), {
      id: 'D',
      address: dAddress,
      peerAddress: dPeer,
    }).catch((e: grpc.ServiceError) => e);
    expect((refused as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    expect((refused as grpc.ServiceError).metadata.get('x-leader-id')).toEqual([leader]);
    const bad = await call(admin(leader).addReplica.bind(admin(leader)), {
      id: 'D',
      address: 'not an address',
      peerAddress: '',
    }).catch((e: grpc.ServiceError) => e);
    expect((bad as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    // The leader asks the new replica who it is first: nobody at the address, or another id, is refused.
    const nobody = await call(admin(leader).addReplica.bind(admin(leader)), {
      id: 'E',
      address: `127.0.0.1:${await freePort()}`,
      peerAddress: `127.0.0.1:${await freePort()}`,
    }).catch((e: grpc.ServiceError) => e);
    expect((nobody as grpc.ServiceError).code).toBe(grpc.status.FAILED_PRECONDITION);
    expect((nobody as grpc.ServiceError).details).toMatch(/cannot reach E/);
    const wrongId = await call(admin(leader).addReplica.bind(admin(leader)), {
      id: 'E',
      address: dAddress,
      peerAddress: dPeer,
    }).catch((e: grpc.ServiceError) => e);
    expect((wrongId as grpc.ServiceError).details).toMatch(/D, not E/);

    const added: MembershipResponse = await call(admin(leader).addReplica.bind(admin(leader)), {
      id: 'D',
      address: dAddress,
      peerAddress: dPeer,
    });
    expect(added.members.find((m) => m.id === 'D')).toMatchObject({ learner: true, address: dAddress });
    const again = await call(admin(leader).addReplica.bind(admin(leader)), {
      id: 'D',
      address: dAddress,
      peerAddress: dPeer,
    }).catch((e: grpc.ServiceError) => e);
    expect((again as grpc.ServiceError).code).toBe(grpc.status.ALREADY_EXISTS);

    // It catches up without a vote, then the leader makes it a voting member.
    await waitUntil('D to become a voting member', 30_000, async () => {
      const s = await c.status(leader);
      const d = s.members.find((m) => m.id === 'D');
      return d && !d.learner && d.inSync ? true : undefined;
    });
    await progress('four replicas');
    const dStatus = await c.status('D');
    expect(dStatus.role).toBe(Role.ROLE_FOLLOWER);
    expect(dStatus.members.map((m) => m.id)).toEqual(['A', 'B', 'C', 'D']);

    // Shrink back to three by removing the leader itself: it steps down once that is committed.
    const removed: MembershipResponse = await call(admin(leader).removeReplica.bind(admin(leader)), { id: leader });
    expect(removed.members.map((m) => m.id)).not.toContain(leader);
    const newLeader = await waitUntil('a new leader among the remaining three', 20_000, async () => {
      const id = await c.waitForLeader(2_000).catch(() => undefined);
      return id && id !== leader ? id : undefined;
    });
    await c.kill(leader); // decommissioned
    await progress('three replicas again, without the old leader');
    const unknown = await call(admin(newLeader).removeReplica.bind(admin(newLeader)), { id: leader }).catch(
      (e: grpc.ServiceError) => e,
    );
    expect((unknown as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);

    await chat.stop();
    const members = c.ids.filter((id) => id !== leader);
    await chat.verifyDelivery();

    // A client that knows only D's address finds the leader and reads everything.
    const late = new ChatClient({ servers: [dAddress], deadlineMs: 1_000, retryBudgetMs: 20_000 });
    closers.push(late);
    await late.login('bob', 'bob-password');
    const ops = new ClusterClient({ servers: [dAddress] });
    closers.push(ops);
    const found = await ops.findLeader();
    expect(found.replicas.map((r) => r.id).sort()).toEqual(members.sort());

    // Every remaining member holds the same state.
    await expectEqualStates(c, members);
    const stored = new Set((await wholeConversation(late, 'alice')).map((m) => m.id));
    for (const m of acked) expect(stored.has(m.id), `acknowledged message ${m.text} is missing`).toBe(true);
  }, 120_000);
});
