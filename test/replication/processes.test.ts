/**
 * Three real chat-server processes on loopback. Scripted users chat without
 * pause while replicas are killed and restored; afterwards every acknowledged
 * message must have reached its recipient exactly once, in send order, and
 * the replicas' chat states must be identical.
 */
import { afterEach, describe, it } from 'vitest';
import { Rng } from '../../src/server/replication/rng.js';
import { startCluster, waitUntil, type TestCluster } from '../support/cluster.js';
import { Conversation, expectEqualStates } from '../support/conversation.js';

/**
 * The whole suite runs a dozen Node processes on two cores: event loops stall for hundreds of
 * milliseconds. These tests check what is kept, not how fast, so the failure detector gets slack.
 */
const TOLERANT = ['--sync-timeout-ms', '1500', '--election-timeout-ms', '500'];

/**
 * Any two of three may crash: the survivor must be in the in-sync set, as an operator checks
 * (chat-ops status) before taking a replica down. Waits until every running replica is in it.
 */
async function waitAllInSync(cluster: TestCluster): Promise<void> {
  await waitUntil('every running replica to be in the in-sync set', 30_000, async () => {
    const leader = await cluster.waitForLeader(15_000);
    const s = await cluster.status(leader);
    return cluster.ids.filter((id) => cluster.isRunning(id)).every((id) => s.inSync.includes(id)) || undefined;
  });
}

/** A restored replica counts as back once it is in the leader's in-sync set again. */
async function waitInSync(cluster: TestCluster, id: string): Promise<void> {
  await waitUntil(`${id} to rejoin the in-sync set`, 20_000, async () => {
    const leader = await cluster.waitForLeader(15_000);
    const s = await cluster.status(leader);
    return s.inSync.includes(id) || undefined;
  });
}

describe('three chat-server processes', () => {
  let cluster: TestCluster | undefined;
  let chat: Conversation | undefined;

  afterEach(async () => {
    await chat?.stop();
    chat?.close();
    await cluster?.stop();
    cluster = undefined;
    chat = undefined;
  });

  it('a single replica killed with SIGKILL mid-traffic keeps every acknowledged message', async () => {
    cluster = await startCluster({ replicas: 1 });
    chat = new Conversation(cluster);
    await chat.addUser('olga');
    await chat.addUser('pavel');
    chat.start();
    await chat.progress('before the kill', 30);
    await cluster.kill('A'); // no warning, no flush: what was acknowledged must be on disk
    await cluster.restart('A');
    await chat.progress('after the restart');
    await chat.stop();
    await chat.verifyStored();
    await chat.verifyDelivery();
  });

  it('keeps chatting through the original demo: kill A, kill B, restore A, restore B, kill C', async () => {
    // A small log keeps restored replicas behind the compacted prefix: they catch up from snapshots.
    cluster = await startCluster({
      replicas: 3,
      args: ['--compact-threshold', '40', '--retain-entries', '10', ...TOLERANT],
    });
    chat = new Conversation(cluster);
    await chat.addUser('alice');
    await chat.addUser('bob');
    chat.start();
    await chat.progress('all up');
    await cluster.kill('A');
    await chat.progress('A down');
    await waitAllInSync(cluster);
    await cluster.kill('B');
    await chat.progress('A and B down');
    await cluster.restart('A');
    await waitInSync(cluster, 'A');
    await chat.progress('A restored');
    await cluster.restart('B');
    await waitInSync(cluster, 'B');
    await chat.progress('B restored');
    await waitAllInSync(cluster);
    await cluster.kill('C');
    await chat.progress('C down');
    await cluster.restart('C');
    await waitInSync(cluster, 'C');
    await chat.stop();
    await chat.verifyDelivery();
    await expectEqualStates(cluster);
  });

  it('survives random kill orders and a stop-all/restart-all without losing a message', async () => {
    cluster = await startCluster({ replicas: 3, args: TOLERANT });
    chat = new Conversation(cluster);
    await chat.addUser('carol');
    await chat.addUser('dave');
    await chat.addUser('erin');
    chat.start();
    const seed = Number(process.env.PROCESS_SEED ?? Date.now() % 100_000);
    const rng = new Rng(seed);
    const down = new Set<string>();
    for (let step = 0; step < 6; step++) {
      const up = cluster.ids.filter((id) => !down.has(id));
      if (down.size < 2 && (down.size === 0 || rng.chance(0.6))) {
        await waitAllInSync(cluster);
        const victim = rng.pick(up);
        await cluster.kill(victim);
        down.add(victim);
      } else {
        const back = rng.pick([...down]);
        await cluster.restart(back);
        await waitInSync(cluster, back);
        down.delete(back);
      }
      await chat.progress(`step ${step} (seed ${seed}, down: ${[...down].join(',') || 'none'})`);
    }
    for (const id of down) {
      await cluster.restart(id);
      await waitInSync(cluster, id);
    }
    await chat.progress('all back');
    // Stop everything at once, start everything again: nothing acknowledged may be lost.
    await Promise.all(cluster.ids.map((id) => cluster!.kill(id)));
    await Promise.all(cluster.ids.map((id) => cluster!.restart(id)));
    await chat.progress('after a total outage');
    await chat.stop();
    await chat.verifyStored();
    await chat.verifyDelivery();
    await expectEqualStates(cluster);
  });
});
