/**
 * Catch-up: a follower is killed, N messages are sent without it, and it is
 * restarted. The leader's catchup.done event (ClusterService.WatchEvents)
 * reports entries, time and entries per second from the moment the follower
 * answered until it was back within reach of the in-sync set. The log is kept
 * long enough here that it catches up from the log, not from a snapshot.
 */
import type { ClusterEventView } from '../../src/client/index.js';
import { createAccounts, ring } from '../lib/accounts.js';
import { waitFor, wallMs } from '../lib/clock.js';
import { BenchCluster } from '../lib/cluster.js';
import type { BenchContext } from '../lib/context.js';
import { round } from '../lib/stats.js';
import { results, split, startWorkers } from '../lib/workers.js';

export interface CatchupResult {
  backlog: number;
  /** From the leader's catchup.done event. */
  entries: number;
  ms: number;
  entriesPerSecond: number;
  /** From spawning the follower's process to the leader listing it in the in-sync set again. */
  restartToInSyncMs: number;
  /** Sends per second while the follower was down (two replicas in sync). */
  fillRate: number;
}

export async function runCatchup(ctx: BenchContext): Promise<CatchupResult> {
  const n = ctx.settings.catchupEntries;
  const cluster = await BenchCluster.start({ args: ['--compact-threshold', String(n * 4), '--retain-entries', String(n * 2)] });
  try {
    const leader = await cluster.waitForLeader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    const accounts = await createAccounts(cluster.addresses, Array.from({ length: 16 }, (_, i) => `cu${i}`));
    await cluster.kill(follower);
    const start = (await cluster.status(leader)).commitIndex;
    const fillStarted = wallMs();
    const workers = await startWorkers(split(ring(accounts), ctx.settings.workers).map((slice, w) => ({
      name: `cu${w}`,
      job: { kind: 'send' as const, servers: cluster.addresses, users: slice, loopsPerUser: 4, durationMs: null, textBytes: 100, deadlineMs: 3_000, retryBudgetMs: 15_000, tag: 'cu', keepTexts: false },
    })));
    try {
      await waitFor(`${n} entries without ${follower}`, 30 * 60_000, async () => (await cluster.status(leader)).commitIndex >= start + n || undefined, 200);
    } finally {
      for (const w of workers) w.stop();
    }
    await results(workers);
    const filled = (await cluster.status(leader)).commitIndex - start;
    const fillRate = Math.round(filled / ((wallMs() - fillStarted) / 1000));
    ctx.log(`  ${filled} entries sent while ${follower} was down (${fillRate}/s); restarting it`);
    let done: ClusterEventView | undefined;
    const watch = cluster.ops.watchEvents(cluster.addressOf(leader), {
      onEvent: (e) => {
        if (e.kind === 'catchup.done' && e.details.follower === follower) done = e;
      },
    });
    try {
      await cluster.restart(follower, { wait: false });
      const spawned = cluster.spawnTime(follower);
      await cluster.waitInSync(follower, 10 * 60_000);
      const inSyncAt = Date.now();
      await waitFor('the catchup.done event', 30_000, () => done);
      const entries = Number(done!.details.entries);
      const ms = Number(done!.details.ms);
      const result: CatchupResult = {
        backlog: filled,
        entries,
        ms,
        entriesPerSecond: Number(done!.details.entriesPerSecond ?? (ms > 0 ? Math.round((entries * 1000) / ms) : 0)),
        restartToInSyncMs: round(inSyncAt - spawned),
        fillRate,
      };
      ctx.log(`  caught up ${entries} entries in ${ms} ms (${result.entriesPerSecond} entries/s); ${result.restartToInSyncMs} ms from process start to in-sync`);
      return result;
    } finally {
      watch.close();
    }
  } finally {
    await cluster.stop();
  }
}
