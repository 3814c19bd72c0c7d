/**
 * Issue #13's schedule on real processes: the leader alone acknowledges writes
 * and is killed; the other two restart and wait for it; an operator forces one
 * of them, which acknowledges writes; the old leader returns. It must not lead:
 * it is left behind, rejoins as a follower, the digests converge, and every
 * write acknowledged before the outage by a surviving in-sync member and
 * every write acknowledged after the force is kept. FORCE_OUTAGE_ROUNDS sets
 * the number of rounds (a soak: FORCE_OUTAGE_ROUNDS=10).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { wholeConversation } from '../../bench/lib/history.js';
import { Role } from '../../src/gen/chat/v1/cluster.js';
import { startCluster, waitUntil, type TestCluster } from '../support/cluster.js';
import { aliceAndBob, TOLERANT_TIMINGS, type AliceAndBob } from '../support/alice-and-bob.js';
import { expectEqualStates } from '../support/conversation.js';

const ROUNDS = Number(process.env.FORCE_OUTAGE_ROUNDS ?? 1);

describe('forcing a leader after a total outage, the old leader returning (real processes)', () => {
  let cluster: TestCluster | undefined;
  let users: AliceAndBob | undefined;

  afterEach(async () => {
    users?.close();
    users = undefined;
    await cluster?.stop();
    cluster = undefined;
  });

  it(
    `converges with the forced leader's writes kept, ${ROUNDS} round(s)`,
    async () => {
      for (let round = 1; round <= ROUNDS; round++) {
        cluster = await startCluster({ replicas: 3, args: TOLERANT_TIMINGS });
        const c = cluster;
        users = await aliceAndBob(c);
        const { alice, ops } = users;
        const kept = [await alice.sendMessage('bob', 'before the outage, on all three')];
        await expectEqualStates(c);

        // The other two die; the leader alone in the in-sync set acknowledges writes only it holds.
        const old = await c.waitForLeader();
        const [forced, third] = c.ids.filter((id) => id !== old) as [string, string];
        await c.kill(forced);
        await c.kill(third);
        await waitUntil(`${old} to be alone in the in-sync set`, 15_000, async () => {
          const s = await c.status(old);
          return (s.inSync.length === 1 && s.inSync[0] === old) || undefined;
        });
        for (let i = 1; i <= 3; i++) await alice.sendMessage('bob', `only ${old} holds this ${i}`);

        // Total outage; two return and wait for the old leader; the operator forces one of them.
        await c.kill(old);
        await c.restart(forced);
        await c.restart(third);
        await waitUntil(`${forced} to wait for ${old}`, 15_000, async () => {
          const s = await c.status(forced);
          return s.waitingFor.includes(old) || undefined;
        });
        await ops.forceLeader(c.addressOf(forced));
        for (let i = 1; i <= 5; i++) kept.push(await alice.sendMessage('bob', `after the force ${i}`));

        // The old leader returns: left behind, it follows the forced leader and holds the same state within seconds.
        await c.restart(old);
        await expectEqualStates(c, c.ids, 20_000);
        const back = await waitUntil(`${old} to rejoin the in-sync set`, 20_000, async () => {
          const s = await c.status(forced);
          return s.role === Role.ROLE_LEADER && s.inSync.includes(old) ? s : undefined;
        });
        expect(back.id).toBe(forced);
        const oldStatus = await c.status(old);
        expect(oldStatus.leaderId).toBe(forced);
        expect(readFileSync(c.logFile(old), 'utf8')).toContain('replica.left_behind');

        const history = (await wholeConversation(alice, 'bob')).map((m) => m.text);
        for (const m of kept) expect(history, `round ${round}`).toContain(m.text);
        expect(history.filter((t) => t.startsWith(`only ${old}`))).toEqual([]);
        users.close();
        users = undefined;
        await c.stop();
        cluster = undefined;
      }
    },
    30_000 + ROUNDS * 60_000,
  );
});
