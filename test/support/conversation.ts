/**
 * Scripted users for real-process tests: each sends to the next without pause
 * through the client library, listens on its stream, and afterwards the test
 * checks that every acknowledged message arrived exactly once, in send order,
 * is stored, and that the replicas hold the same state.
 */
import { expect } from 'vitest';
import { wholeConversation } from '../../bench/lib/history.js';
import { ChatClient, ClusterClient } from '../../src/client/index.js';
import type { ChatMessage } from '../../src/client/api.js';
import { waitUntil, type TestCluster } from './cluster.js';

export interface User {
  name: string;
  client: ChatClient;
  received: ChatMessage[];
}

export class Conversation {
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
    client.subscribe({
      onMessage: (m) => {
        if (m.recipient === name && m.sender !== name) user.received.push(m);
      },
    });
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
      const states = await Promise.all(
        this.cluster.ids
          .filter((id) => this.cluster.isRunning(id))
          .map((id) =>
            this.cluster.status(id).then(
              (s) =>
                `${id}: role=${s.role} epoch=${s.epoch} last=${s.lastIndex} commit=${s.commitIndex} isr=${s.inSync.join('')} caughtUp=${s.caughtUp} waiting=${s.waitingReason}`,
              (e: Error) => `${id}: ${e.message}`,
            ),
          ),
      );
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
        expected.every((m) => u.received.some((r) => r.id === m.id)),
      );
    }
    for (const u of byRecipient.values()) {
      const ids = u.received.map((m) => m.id);
      expect(new Set(ids).size, `${u.name} received a message twice`).toBe(ids.length);
      const texts = u.received.map((m) => m.text);
      const numbers = texts.map((t) => Number(t.split('#')[1]));
      for (let i = 1; i < numbers.length; i++)
        expect(numbers[i], `${u.name} got messages out of send order`).toBeGreaterThan(numbers[i - 1]!);
    }
  }

  /** Every acknowledged message is stored: paging each recipient's history finds it. */
  async verifyStored(): Promise<void> {
    for (const u of this.users) {
      const stored = new Set<number>();
      for (const peer of this.users.filter((p) => p !== u)) {
        for (const m of await wholeConversation(u.client, peer.name)) stored.add(m.id);
      }
      const missing = this.acked.filter((m) => m.recipient === u.name && !stored.has(m.id));
      expect(
        missing.map((m) => m.text),
        `acknowledged messages to ${u.name} missing from the store`,
      ).toEqual([]);
    }
  }

  close(): void {
    for (const u of this.users) u.client.close();
  }
}

/** Waits until these replicas (default: all) have applied the same state, as their digests say. */
export async function expectEqualStates(
  cluster: TestCluster,
  ids: readonly string[] = cluster.ids,
  timeoutMs = 20_000,
): Promise<void> {
  const ops = new ClusterClient({ servers: cluster.addresses });
  try {
    const digests = await waitUntil('replicas to apply the same state', timeoutMs, async () => {
      const all = await Promise.all(ids.map((id) => ops.stateDigest(cluster.addressOf(id))));
      const same = all.every((d) => d.appliedIndex === all[0]!.appliedIndex && d.digest === all[0]!.digest);
      return same ? all : undefined;
    });
    expect(new Set(digests.map((d) => d.digest)).size).toBe(1);
  } finally {
    ops.close();
  }
}
