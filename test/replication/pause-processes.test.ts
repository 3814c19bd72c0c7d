/**
 * Three chat-server processes in the default in-sync mode, and a follower that
 * is paused (SIGSTOP) until its leader drops it from the in-sync set. While it
 * is stopped its leader is killed (SIGKILL); then the follower is resumed
 * (SIGCONT) at three moments: at once, while the third replica campaigns, and
 * after it leads. On resuming it reads what its dead leader sent meanwhile; none
 * of that may make it count as caught up (issue #19). Users chat throughout:
 * every acknowledged message must be kept, the replicas must end with equal
 * states, and no epoch may have had two leaders (as every replica's log file,
 * kept across kills, tells it).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Role } from '../../src/gen/chat/v1/cluster.js';
import { startCluster, waitUntil, type TestCluster } from '../support/cluster.js';
import { Conversation, expectEqualStates } from '../support/conversation.js';

const SYNC_TIMEOUT_MS = 1_000;
const ELECTION_TIMEOUT_MS = 400;

/** When the paused follower is resumed, counted from the moment its leader was killed. */
const RESUME_MOMENTS: { name: string; after(cluster: TestCluster, survivor: string): Promise<void> }[] = [
  { name: 'at once', after: async () => {} },
  { name: 'while the survivor campaigns', after: () => new Promise((r) => setTimeout(r, ELECTION_TIMEOUT_MS)) },
  {
    name: 'after the survivor leads',
    after: async (cluster, survivor) => {
      await waitUntil(
        `${survivor} to lead`,
        10_000,
        async () => (await cluster.status(survivor)).role === Role.ROLE_LEADER || undefined,
      );
    },
  },
];

/** Who won each epoch, from the `election.won`/`election.forced` lines of every replica's JSON log. */
function winnersByEpoch(cluster: TestCluster): Map<number, Set<string>> {
  const won = new Map<number, Set<string>>();
  for (const id of cluster.ids) {
    for (const line of readFileSync(cluster.logFile(id), 'utf8').split('\n')) {
      if (!line.includes('"election.')) continue;
      const entry = JSON.parse(line) as { event?: string; epoch?: number; replica?: string };
      if (
        (entry.event !== 'election.won' && entry.event !== 'election.forced') ||
        entry.epoch === undefined ||
        !entry.replica
      )
        continue;
      won.set(entry.epoch, new Set([...(won.get(entry.epoch) ?? []), entry.replica]));
    }
  }
  return won;
}

describe('a follower paused past the sync timeout while its leader dies (in-sync mode)', () => {
  let cluster: TestCluster | undefined;
  let chat: Conversation | undefined;

  afterEach(async () => {
    await chat?.stop();
    chat?.close();
    await cluster?.stop();
    cluster = undefined;
    chat = undefined;
  });

  it('keeps every acknowledged message, equal states and one leader per epoch, whenever the follower resumes', async () => {
    cluster = await startCluster({
      args: ['--sync-timeout-ms', String(SYNC_TIMEOUT_MS), '--election-timeout-ms', String(ELECTION_TIMEOUT_MS)],
    });
    const c = cluster;
    chat = new Conversation(c);
    await chat.addUser('iris');
    await chat.addUser('jonas');
    chat.start();
    await chat.progress('all up');

    for (const moment of RESUME_MOMENTS) {
      const leader = await c.waitForLeader();
      const inSync = (await c.status(leader)).inSync;
      const [paused, survivor] = c.ids.filter((id) => id !== leader);
      if (!paused || !survivor || !inSync.includes(paused))
        throw new Error(`expected ${leader} to lead with ${c.ids.join(',')} in sync, got {${inSync.join(',')}}`);
      const pid = c.pid(paused);
      process.kill(pid, 'SIGSTOP');
      try {
        // Past the sync timeout: the leader goes on without it, and chat with it.
        await waitUntil(
          `${leader} to drop the stopped ${paused} from the in-sync set`,
          10_000,
          async () => !(await c.status(leader)).inSync.includes(paused) || undefined,
        );
        await chat.progress(`${paused} stopped, ${leader} leads without it`);
        await c.kill(leader);
        await moment.after(c, survivor);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await Promise.all([
        chat.progress(`${paused} resumed ${moment.name} after ${leader} was killed`),
        c.restart(leader),
      ]);
      await waitUntil('every replica back in the in-sync set', 20_000, async () => {
        const s = await c.status(await c.waitForLeader());
        return c.ids.every((id) => s.inSync.includes(id)) || undefined;
      });
    }

    await chat.stop();
    await chat.verifyStored();
    await chat.verifyDelivery();
    await expectEqualStates(c);
    const won = winnersByEpoch(c);
    for (const [epoch, leaders] of won)
      expect(leaders.size, `epoch ${epoch} had leaders ${[...leaders].join(',')}`).toBe(1);
    expect(won.size).toBeGreaterThan(RESUME_MOMENTS.length);
    // Three rounds of stop, kill, resume and restart: about 15 s on an idle machine, over 30 s on a loaded one.
  }, 120_000);
});
