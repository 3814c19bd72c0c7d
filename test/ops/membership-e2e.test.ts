/**
 * The built chat-ops (`node dist/ops/main.js`; `npm run build` first) grows a
 * real three-replica cluster by a replica started with --join and shrinks it
 * again: the question refused without a terminal, --yes, the wait for the
 * promotion, and status from the new replica's address alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { requireBuiltOps, runBuiltOps, type Run } from './built-cli.js';

let cluster: TestCluster;

function chatOps(args: string[], servers: string[]): Promise<Run> {
  return runBuiltOps(args, {
    servers,
    input: 'y\n',
    timeoutMs: 40_000,
    env: { CHAT_ADMIN_TOKEN_FILE: cluster.adminTokenFile },
  });
}

interface Member {
  id: string;
  address: string;
  learner: boolean;
  inSync: boolean;
}

interface StatusDoc {
  leader: { id: string } | null;
  healthy: boolean;
  members: Member[];
  learners: string[];
  replicas: { address: string; up: boolean; id?: string; role?: string }[];
}

beforeAll(async () => {
  requireBuiltOps();
  cluster = await startCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

describe('chat-ops membership changes (built CLI) against a live cluster', () => {
  it('adds a replica started with --join, which becomes a voting member, and removes it again', async () => {
    await cluster.waitForLeader();
    const original = [...cluster.addresses];
    const address = await cluster.spawnJoining('D');

    const waiting = await chatOps(['status', '--json'], [address]);
    const before = JSON.parse(waiting.stdout) as StatusDoc;
    expect(before.replicas.find((r) => r.address === address)).toMatchObject({ up: true, id: 'D', role: 'learner' });

    // Standard input is a pipe: without --yes nothing changes, even with "y" on it.
    const peer = ['--peer-address', cluster.peerAddressOf('D')];
    const refused = await chatOps(['add-replica', 'D', address, ...peer], original);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('D joins as a learner');
    expect(refused.stderr).toContain('nothing was changed');

    const added = await chatOps(['add-replica', 'D', address, ...peer, '--yes', '--json', '--timeout', '30'], original);
    expect(added.stderr).toContain('D was added as a learner');
    expect(added.code).toBe(0);
    const doc = JSON.parse(added.stdout) as { voter: boolean; members: Member[] };
    expect(doc.voter).toBe(true);
    expect(doc.members.map((m) => m.id).sort()).toEqual(['A', 'B', 'C', 'D']);

    // The new replica's address alone is enough to see every member.
    const fromD = await chatOps(['status', '--json'], [address]);
    const status = JSON.parse(fromD.stdout) as StatusDoc;
    expect(fromD.code).toBe(0);
    expect(status.replicas.map((r) => r.up)).toEqual([true, true, true, true]);
    expect(status.members.find((m) => m.id === 'D')).toMatchObject({ address, learner: false });
    expect(status.learners).toEqual([]);

    const removed = await chatOps(['remove-replica', 'D', '--yes'], original);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain('D was removed');
    expect(removed.stdout).not.toMatch(/^ +D /m);
    await cluster.kill('D');
    // D is gone from the configuration: its being down is no problem.
    const after = await chatOps(['status', '--json'], [...original, address]);
    const final = JSON.parse(after.stdout) as StatusDoc;
    expect(final.members.map((m) => m.id).sort()).toEqual(['A', 'B', 'C']);
    expect(final.replicas.find((r) => r.address === address)?.up).toBe(false);
    expect(final.healthy).toBe(true);
    expect(after.code).toBe(0);
  });
});
