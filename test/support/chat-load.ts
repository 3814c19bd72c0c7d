/**
 * A steady sender for real-process tests: alice sends bob numbered messages
 * one after another through the client library, bob listens, and the test
 * checks afterwards that every acknowledged message arrived exactly once.
 */
import { ChatClient } from '../../src/client/index.js';
import type { ChatMessage } from '../../src/client/api.js';
import { waitUntil } from './cluster.js';

export interface ChatLoad {
  alice: ChatClient;
  bob: ChatClient;
  /** Messages the cluster acknowledged, in send order. */
  acked: ChatMessage[];
  /** Messages bob's stream delivered. */
  received: ChatMessage[];
  /** Waits (up to 20 s) for ten more acknowledgements. */
  progress(what: string): Promise<void>;
  /** Stops sending and waits for the last send to finish. */
  stop(): Promise<void>;
  /** Waits until bob has every acknowledged message, and fails if one came twice. */
  checkDelivered(): Promise<void>;
  close(): void;
}

export async function startChatLoad(servers: string[]): Promise<ChatLoad> {
  const alice = new ChatClient({ servers, deadlineMs: 1_000, retryBudgetMs: 20_000 });
  const bob = new ChatClient({ servers, deadlineMs: 1_000, retryBudgetMs: 20_000 });
  await alice.createAccount('alice', 'alice-password');
  await bob.createAccount('bob', 'bob-password');
  await alice.login('alice', 'alice-password');
  await bob.login('bob', 'bob-password');
  const received: ChatMessage[] = [];
  bob.subscribe({ onMessage: (m) => { if (m.recipient === 'bob') received.push(m); } });

  const acked: ChatMessage[] = [];
  let running = true;
  let n = 0;
  const sender = (async () => {
    while (running) {
      n++;
      try {
        acked.push(await alice.sendMessage('bob', `m${n}`));
      } catch {
        // not acknowledged: not checked
      }
    }
  })();
  return {
    alice,
    bob,
    acked,
    received,
    async progress(what) {
      const target = acked.length + 10;
      await waitUntil(`chat to go on (${what})`, 20_000, () => acked.length >= target);
    },
    async stop() {
      running = false;
      await sender;
    },
    async checkDelivered() {
      await waitUntil('bob to receive every acknowledged message', 20_000, () =>
        acked.every((m) => received.some((r) => r.id === m.id)) || undefined);
      const ids = received.map((m) => m.id);
      if (new Set(ids).size !== ids.length) throw new Error('a message was delivered twice');
    },
    close() {
      running = false;
      alice.close();
      bob.close();
    },
  };
}
