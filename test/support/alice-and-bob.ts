/**
 * For real-process tests of one conversation across faults: alice's client,
 * logged in, with bob's account made, and a cluster client for status and
 * operator calls (with the cluster's admin token). The test closes both (`close`).
 */
import { ChatClient, ClusterClient } from '../../src/client/index.js';
import type { TestCluster } from './cluster.js';

/** A shared machine stalls event loops: the failure detector gets slack (these tests check outcomes, not speed). */
export const TOLERANT_TIMINGS = ['--sync-timeout-ms', '1500', '--election-timeout-ms', '500'];

export interface AliceAndBob {
  alice: ChatClient;
  ops: ClusterClient;
  close(): void;
}

export async function aliceAndBob(cluster: TestCluster): Promise<AliceAndBob> {
  const alice = new ChatClient({ servers: cluster.addresses, deadlineMs: 2_000, retryBudgetMs: 20_000 });
  // An operator's client: forcing a leader needs the admin token.
  const ops = new ClusterClient({ servers: cluster.addresses, adminToken: cluster.adminToken });
  await alice.createAccount('alice', 'alice-password');
  await alice.login('alice', 'alice-password');
  await alice.createAccount('bob', 'bob-password');
  return {
    alice,
    ops,
    close: () => {
      alice.close();
      ops.close();
    },
  };
}
