/**
 * Three real chat-server processes on loopback. Scripted users chat without
 * pause while replicas are killed and restored; afterwards every acknowledged
 * message must have reached its recipient exactly once, in send order, and
 * the replicas' chat states must be identical.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ChatClient, ClusterClient } from '../../src/client/index.js';
import type { ChatMessage } from '../../src/client/api.js';
import { Rng } from '../../src/server/replication/rng.js';
import { startCluster, waitUntil, type TestCluster } from '../support/cluster.js';

/**
 * The whole suite runs a dozen Node processes on two cores: event loops stall for hundreds of
 * milliseconds. These tests check what is kept, not how fast, so the failure detector gets slack.
 */
const TOLERANT = ['--sync-timeout-ms', '1500', '--election-timeout-ms', '500'];

interface User {
  name: string;
  client: ChatClient;
  received: ChatMessage[];
}

class Conversation {
  readonly users: User[] = [];
  readonly acked: ChatMessage[] = [];
  failures = 0;
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly cluster: TestCluster) {}

  async addUser(name: string): Promise<User> {
    const client = new ChatClient({ servers: this.cluster.addresses, deadlineMs: 2_000, retryBudgetMs: 20_000 });
    await client.createAccount(name, `${name}-password`);
    await client.login(name, `${name}-password`);
    const user: User = { name, client, received: [] };
    client.subscribe({ onMessage: (m) => { if (m.recipient === name && m.sender !== name) user.received.push(m); } });
    this.users.push(user);
    return user;
  }

  /** Every user sends to the next one, one message at a time, until stopped. */
  start(): void {
    this.running = true;
    this.loops = this.users.map(async (from, i) => {
      const to = this.users[(i + 1) % this.users.length]!;
      let n = 0;
      while (this.running) {
        n++;
        try {
          this.acked.push(await from.client.sendMessage(to.name, `${from.name} #${n}`));
        } catch {
          this.failures++; // not acknowledged: may or may not be stored, and is not checked
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    });
  }

  /** Waits until at least `count` more messages are acknowledged: the cluster serves. */
  async progress(what: string, count = 5, timeoutMs = 30_000): Promise<void> {
    const target = this.acked.length + count;
    try {
      await waitUntil(`chat to go on (${what})`, timeoutMs, () => this.acked.length >= target);
    } catch (err) {
      const states = await Promise.all(this.cluster.ids.filter((id) => this.cluster.isRunning(id)).map((id) =>
        this.cluster.status(id).then(
          (s) => `${id}: role=${s.role} epoch=${s.epoch} last=${s.lastIndex} commit=${s.commitIndex} isr=${s.inSync.join('')} caughtUp=${s.caughtUp} waiting=${s.waitingReason}`,
          (e: Error) => `${id}: ${e.message}`,
        )));
      throw new Error(`${(err as Error).message}\n  ${states.join('\n  ')}`);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Every acknowledged message arrived at its recipient exactly once, in each sender's order. */
  async verifyDelivery(): Promise<void> {
    const byRecipient = new Map(this.users.map((u) => [u.name, u]));
    for (const u of this.users) {
      const expected = this.acked.filter((m) => m.recipient === u.name);
      await waitUntil(`${u.name} to receive ${expected.length} messages`, 20_000, () =>
        expected.every((m) => u.received.some((r) => r.id === m.id)));
    }
    for (const u of byRecipient.values()) {
      const ids = u.received.map((m) => m.id);
      expect(new Set(ids).size, `${u.name} received a message twice`).toBe(ids.length);
      const texts = u.received.map((m) => m.text);
      const numbers = texts.map((t) => Number(t.split('#')[1]));
      for (let i = 1; i < numbers.length; i++) expect(numbers[i], `${u.name} got messages out of send order`).toBeGreaterThan(numbers[i - 1]!);
    }
  }

  /** Every acknowledged message is stored: paging each recipient's history finds it. */
  async verifyStored(): Promise<void> {
    for (const u of this.users) {
      const stored = new Set<number>();
      for (const peer of this.users.filter((p) => p !== u)) {
        let beforeId = 0;
        for (;;) {
          const page = await u.client.getHistory(peer.name, { beforeId, limit: 200 });
          for (const m of page.messages) stored.add(m.id);
          if (!page.hasMore || page.messages.length === 0) break;
          beforeId = page.messages[0]!.id;
        }
      }
      const missing = this.acked.filter((m) => m.recipient === u.name && !stored.has(m.id));
      expect(missing.map((m) => m.text), `acknowledged messages to ${u.name} missing from the store`).toEqual([]);
    }
  }

  close(): void {
    for (const u of this.users) u.client.close();
  }
}

async function expectEqualStates(cluster: TestCluster): Promise<void> {
  const ops = new ClusterClient({ servers: cluster.addresses });
  try {
    const digests = await waitUntil('replicas to apply the same state', 20_000, async () => {
      const all = await Promise.all(cluster.addresses.map((a) => ops.stateDigest(a)));
      const same = all.every((d) => d.appliedIndex === all[0]!.appliedIndex && d.digest === all[0]!.digest);
      return same ? all : undefined;
    });
    expect(new Set(digests.map((d) => d.digest)).size).toBe(1);
  } finally {
    ops.close();
  }
}

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
    cluster = await startCluster({ replicas: 3, args: ['--compact-threshold', '40', '--retain-entries', '10', ...TOLERANT] });
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
