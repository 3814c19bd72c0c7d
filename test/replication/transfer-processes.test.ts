/**
 * Leadership transfer between real chat-server processes under continuous
 * chat: `chat-ops transfer-leader` moves the leadership (to whom the leader
 * picks, then to a named replica), and SIGTERM on a leader hands over before it
 * stops. Each is one campaign without a pre-vote or a lost election, nothing
 * the users sent fails or goes missing, and the replicas end equal.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltOps, runBuiltOps } from '../ops/built-cli.js';
import { startCluster, waitUntil, type TestCluster } from '../support/cluster.js';
import { Conversation, expectEqualStates } from '../support/conversation.js';

let cluster: TestCluster;
let chat: Conversation;

beforeAll(async () => {
  requireBuiltOps();
  cluster = await startCluster();
  chat = new Conversation(cluster);
  await chat.addUser('ann');
  await chat.addUser('bob');
  await chat.addUser('cat');
  chat.start();
  await chat.progress('before any transfer');
});
afterAll(async () => {
  await chat?.stop();
  chat?.close();
  await cluster?.stop();
});

function events(id: string): { event: string; msg: string; [k: string]: unknown }[] {
  return readFileSync(cluster.logFile(id), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"event"'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as { event: string; msg: string }];
      } catch {
        return [];
      }
    });
}

/** Election events of every replica since `marks` (counts of their events before). */
function electionsSince(marks: Map<string, number>): string[] {
  return cluster.ids.flatMap((id) =>
    events(id)
      .slice(marks.get(id) ?? 0)
      .filter((e) => e.event.startsWith('election.') && e.event !== 'election.promised')
      .map((e) => `${id} ${e.event}`),
  );
}

function mark(): Map<string, number> {
  return new Map(cluster.ids.map((id) => [id, events(id).length]));
}

describe('leadership transfer between real processes', () => {
  it('chat-ops transfer-leader hands over to the replica the leader picks, then to a named one', async () => {
    const first = await cluster.waitForLeader();
    // Operators only: without a token chat-ops does not ask; with a wrong one the leader refuses (exit 5 both ways).
    const anonymous = await runBuiltOps(['transfer-leader'], { servers: cluster.addresses });
    expect(anonymous.code, anonymous.stderr).toBe(5);
    const wrong = await runBuiltOps(['transfer-leader'], {
      servers: cluster.addresses,
      env: { CHAT_ADMIN_TOKEN: 'not-the-admin-token-0123456789' },
    });
    expect(wrong.code, wrong.stderr).toBe(5);
    expect(wrong.stderr).toContain('UNAUTHENTICATED');
    expect(await cluster.waitForLeader()).toBe(first);
    const before = mark();
    const auto = await runBuiltOps(['transfer-leader', '--json'], {
      servers: cluster.addresses,
      env: { CHAT_ADMIN_TOKEN_FILE: cluster.adminTokenFile },
    });
    expect(auto.code, auto.stderr).toBe(0);
    const moved = JSON.parse(auto.stdout) as { previousLeaderId: string; leaderId: string; epoch: number };
    expect(moved.previousLeaderId).toBe(first);
    expect(moved.leaderId).not.toBe(first);
    expect(await cluster.waitForLeader()).toBe(moved.leaderId);
    await chat.progress('after the first transfer');
    // One campaign: the target's, won, with no pre-vote failures or lost elections.
    expect(electionsSince(before)).toEqual([`${moved.leaderId} election.started`, `${moved.leaderId} election.won`]);

    const named = cluster.ids.find((id) => id !== moved.leaderId && id !== first)!;
    const again = await runBuiltOps(['transfer-leader', named], {
      servers: cluster.addresses,
      env: { CHAT_ADMIN_TOKEN_FILE: cluster.adminTokenFile },
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(
      new RegExp(`^${moved.leaderId} handed leadership over: ${named} \\(127\\.0\\.0\\.1:\\d+\\) leads epoch \\d+`),
    );
    await chat.progress('after the second transfer');

    const refused = await runBuiltOps(['transfer-leader', 'nobody'], {
      servers: cluster.addresses,
      env: { CHAT_ADMIN_TOKEN_FILE: cluster.adminTokenFile },
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('nobody is not a voting member');
  });

  it('SIGTERM on the leader hands over before it stops; the others do not need an election timeout', async () => {
    const leader = await cluster.waitForLeader();
    // Everyone in sync again after the transfers (the old leaders rejoin the in-sync set).
    await waitUntil(
      'every replica in the in-sync set',
      10_000,
      async () => (await cluster.status(leader)).inSync.length === 3,
    );
    const before = mark();
    await cluster.kill(leader, 'SIGTERM');
    const handed = events(leader)
      .slice(before.get(leader))
      .find((e) => e.event === 'server.handed_over');
    expect(handed, JSON.stringify(events(leader).slice(-8))).toBeDefined();
    expect(events(leader).some((e) => e.event === 'server.stopped')).toBe(true);
    const next = await cluster.waitForLeader();
    expect(next).toBe(handed!.to);
    await chat.progress('after the leader stopped');
    expect(electionsSince(before)).toEqual([`${next} election.started`, `${next} election.won`]);
    await cluster.restart(leader);
  });

  it('lost and doubled nothing on the way', async () => {
    await chat.progress('at the end');
    await chat.stop();
    expect(chat.failures).toBe(0);
    await chat.verifyDelivery();
    await chat.verifyStored();
    await expectEqualStates(cluster);
  });
});
