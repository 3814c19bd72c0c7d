/**
 * Issue #13: a replica started once on an empty data directory (the README's
 * example folder instead of its own), then on its real one again. Both times
 * the leader detects it (replica.data_lost), `chat-ops status` is degraded
 * meanwhile or says why, and the replica is brought back within seconds: the
 * digests converge and nothing acknowledged is lost.
 */
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { wholeConversation } from '../../bench/lib/history.js';
import { assessHealth } from '../../src/ops/model/health.js';
import { startCluster, waitUntil, type TestCluster } from '../support/cluster.js';
import { aliceAndBob, TOLERANT_TIMINGS, type AliceAndBob } from '../support/alice-and-bob.js';
import { expectEqualStates } from '../support/conversation.js';

describe('a replica restarted on an empty data directory, then on its real one (real processes)', () => {
  let cluster: TestCluster | undefined;
  let users: AliceAndBob | undefined;

  afterEach(async () => {
    users?.close();
    users = undefined;
    await cluster?.stop();
    cluster = undefined;
  });

  it('is detected, logged and brought back each time, with nothing acknowledged lost', async () => {
    cluster = await startCluster({ replicas: 3, args: TOLERANT_TIMINGS });
    const c = cluster;
    users = await aliceAndBob(c);
    const { alice, ops } = users;
    const sent = [];
    for (let i = 1; i <= 5; i++) sent.push(await alice.sendMessage('bob', `first ${i}`));
    await expectEqualStates(c);

    const leader = await c.waitForLeader();
    const victim = c.ids.find((id) => id !== leader)!;
    const real = c.dataDir(victim);
    const leaderLog = () =>
      readFileSync(c.logFile(leader), 'utf8')
        .split('\n')
        .filter((l) => l.includes('replica.data_lost') && l.includes(victim)).length;

    // On an empty directory: the leader detects it and brings it back; status is degraded until then or healthy after.
    await c.kill(victim);
    renameSync(real, `${real}.real`);
    await c.restart(victim);
    await waitUntil('the leader to log replica.data_lost', 15_000, () => leaderLog() >= 1 || undefined);
    for (let i = 1; i <= 3; i++) sent.push(await alice.sendMessage('bob', `second ${i}`));
    await expectEqualStates(c, c.ids, 20_000);
    await waitUntil(
      'status to be healthy again',
      20_000,
      async () => assessHealth(await ops.statusAll()).healthy || undefined,
    );

    // Back on its real directory, older now: detected again (another incarnation than the one recorded), brought back.
    await c.kill(victim);
    rmSync(real, { recursive: true, force: true });
    renameSync(`${real}.real`, real);
    await c.restart(victim);
    await waitUntil('the leader to log replica.data_lost again', 15_000, () => leaderLog() >= 2 || undefined);
    for (let i = 1; i <= 3; i++) sent.push(await alice.sendMessage('bob', `third ${i}`));
    await expectEqualStates(c, c.ids, 20_000);
    await waitUntil(
      'status to be healthy again',
      20_000,
      async () => assessHealth(await ops.statusAll()).healthy || undefined,
    );

    const history = (await wholeConversation(alice, 'bob')).map((m) => m.text);
    for (const m of sent) expect(history).toContain(m.text);
  }, 120_000);
});
