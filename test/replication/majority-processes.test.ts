/**
 * Five chat-server processes in majority mode. The leader and one follower are
 * frozen (SIGSTOP) far longer than any timeout — to the other three that is a
 * partition they cannot tell from a crash — while chat goes on; then they are
 * thawed. No acknowledged message may be lost and no epoch may have had two
 * leaders (checked from every replica's event history).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../src/client/index.js';
import type { ClusterEventView } from '../../src/client/api.js';
import { startCluster, waitUntil, type TestCluster } from '../support/cluster.js';
import { Conversation } from '../support/conversation.js';

describe('majority mode with five replica processes', () => {
  let cluster: TestCluster | undefined;
  const clients: { close(): void }[] = [];

  afterEach(async () => {
    for (const c of clients) c.close();
    clients.length = 0;
    await cluster?.stop();
    cluster = undefined;
  });

  it('keeps every acknowledged message through a frozen minority that held the leader', async () => {
    cluster = await startCluster({ replicas: 5, args: ['--mode', 'majority'] });
    const chat = new Conversation(cluster);
    const ops = new ClusterClient({ servers: cluster.addresses });
    clients.push(chat, ops);
    await chat.addUser('alice');
    await chat.addUser('bob');
    chat.start();
    const progress = (what: string) => chat.progress(what, 10, 20_000);

    await progress('all five up');
    const leader = await cluster.waitForLeader();
    const other = cluster.ids.find((id) => id !== leader)!;
    const frozen = [leader, other];
    const pids = frozen.map((id) => cluster!.pid(id));
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    try {
      await progress(`${frozen.join(' and ')} frozen`);
    } finally {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
    await progress('thawed');
    // The thawed old leader must have stepped down: exactly one leader now.
    await waitUntil('the thawed replicas to follow', 10_000, async () => {
      const probes = await ops.statusAll();
      const leaders = probes.filter((p) => p.up && p.status.role === 'leader');
      const epochs = new Set(probes.map((p) => (p.up ? p.status.epoch : -1)));
      return leaders.length === 1 && epochs.size === 1 ? true : undefined;
    });
    await chat.stop();
    await chat.verifyDelivery();

    // No epoch was ever led by two replicas, as every replica's history tells it.
    const won = new Map<number, Set<string>>();
    for (const address of cluster.addresses) {
      const events: ClusterEventView[] = [];
      const watch = ops.watchEvents(address, { onEvent: (e) => events.push(e) });
      // The history arrives as a burst: wait until it has settled.
      let seen = -1;
      await waitUntil(
        `the event history of ${address}`,
        10_000,
        () => {
          const settled = events.length > 0 && events.length === seen;
          seen = events.length;
          return settled || undefined;
        },
        300,
      );
      watch.close();
      for (const e of events.filter((x) => x.kind === 'election.won' || x.kind === 'election.forced')) {
        const set = won.get(e.epoch) ?? new Set<string>();
        set.add(e.replicaId);
        won.set(e.epoch, set);
      }
    }
    for (const [epoch, leaders] of won)
      expect(leaders.size, `epoch ${epoch} had leaders ${[...leaders].join(',')}`).toBe(1);
    expect(won.size).toBeGreaterThan(1);
  });
});
