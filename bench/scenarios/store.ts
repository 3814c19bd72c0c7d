/**
 * The large store (1,000,000 messages by default, prepared offline with the
 * server's own state machine and log store, see bench/lib/dataset.ts):
 *
 * - restart: the whole cluster starts on it (a total outage: recovery
 *   election) — time to a serving leader and to the first acknowledged send;
 *   then a follower is killed and restarted — time until it answers and until
 *   it is back in the in-sync set;
 * - history: durable sends per second at 64 in flight on the large store
 *   versus a store with the same accounts and no messages.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ChatClient } from '../../src/client/index.js';
import { ring } from '../lib/accounts.js';
import { waitFor } from '../lib/clock.js';
import { BenchCluster } from '../lib/cluster.js';
import type { BenchContext } from '../lib/context.js';
import { closedLoop, type LoadResult } from '../lib/load.js';
import { round } from '../lib/stats.js';
import { DATABASE_FILE } from '../../src/server/sqlite/database.js';

export interface RestartResult {
  messages: number;
  /** How the store was made, and how long it took. */
  build: { method: string; seconds: number; messagesPerSecond: number };
  dataBytes: number;
  /** Whole cluster from spawn: every replica answering, a serving leader, the first acknowledged send. */
  cold: { allAnsweringMs: number; leaderMs: number; firstAckMs: number };
  /** One follower from spawn: answering status calls, its replica.started event, back in the in-sync set. */
  follower: { answeringMs: number; openedMs: number | undefined; inSyncMs: number };
}

export interface HistoryResult {
  messages: number;
  empty: LoadResult;
  full: LoadResult;
  /** full / empty sends per second. */
  ratio: number;
}

function eventTime(logFile: string, event: string, after: number): number | undefined {
  try {
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      if (!line.includes(`"event":"${event}"`)) continue;
      const t = (JSON.parse(line) as { time?: number }).time;
      if (t !== undefined && t >= after) return t;
    }
  } catch {
    // no log yet
  }
  return undefined;
}

export async function runRestart(ctx: BenchContext): Promise<RestartResult> {
  const ds = await ctx.largeStore();
  const cluster = await BenchCluster.start({ seedDataDir: ds.dir, waitForLeader: false });
  try {
    const spawned = Math.min(...cluster.ids.map((id) => cluster.spawnTime(id)));
    const sender = new ChatClient({
      servers: cluster.addresses,
      token: ds.accounts[0]!.token,
      retryBudgetMs: 60_000,
      deadlineMs: 2_000,
    });
    const ackAt = await sender
      .sendMessage(ds.accounts[1]!.username, 'first message after the restart')
      .then(() => Date.now());
    sender.close();
    const leader = await cluster.waitForLeader(60_000);
    // Times from the replicas' own logs: listening, and the recovery election won.
    const listening = cluster.ids.map(
      (id) => eventTime(cluster.logFile(id), 'server.listening', spawned) ?? Number.NaN,
    );
    const won = eventTime(cluster.logFile(leader), 'election.won', spawned) ?? Number.NaN;
    const cold = {
      allAnsweringMs: Math.max(...listening) - spawned,
      leaderMs: won - spawned,
      firstAckMs: ackAt - spawned,
    };
    ctx.log(
      `  cold start of 3 replicas with ${ds.messages.toLocaleString('en-US')} messages: all listening after ${cold.allAnsweringMs} ms, ${leader} elected after ${cold.leaderMs} ms, first send acknowledged after ${cold.firstAckMs} ms`,
    );

    const follower = cluster.ids.find((id) => id !== leader)!;
    await cluster.waitInSync(follower, 60_000);
    await cluster.kill(follower);
    // The leader must have taken it out of the in-sync set first, or "back in" would be measured before it left.
    await waitFor(
      `${leader} to drop ${follower}`,
      30_000,
      async () => ((await cluster.status(leader)).inSync.includes(follower) ? undefined : true),
      20,
    );
    await cluster.restart(follower, { wait: false });
    const t0 = cluster.spawnTime(follower);
    await waitFor(
      `${follower} to rejoin the in-sync set`,
      60_000,
      async () => (await cluster.status(leader)).inSync.includes(follower) || undefined,
      10,
    );
    const inSyncAt = Date.now();
    // pino writes asynchronously: give the log a moment to reach the file.
    const opened = await waitFor('replica.started in the log', 5_000, () =>
      eventTime(cluster.logFile(follower), 'replica.started', t0),
    ).catch(() => undefined);
    const answering = await waitFor('server.listening in the log', 5_000, () =>
      eventTime(cluster.logFile(follower), 'server.listening', t0),
    ).catch(() => undefined);
    const followerResult = {
      answeringMs: answering === undefined ? Number.NaN : answering - t0,
      openedMs: opened === undefined ? undefined : opened - t0,
      inSyncMs: inSyncAt - t0,
    };
    ctx.log(
      `  follower ${follower} restarted: database opened after ${followerResult.openedMs} ms, listening after ${followerResult.answeringMs} ms, in sync after ${followerResult.inSyncMs} ms`,
    );
    let dataBytes = 0;
    for (const suffix of ['', '-wal']) {
      try {
        dataBytes += statSync(join(cluster.dataDir(leader), DATABASE_FILE + suffix)).size;
      } catch {
        // no WAL file
      }
    }
    return {
      messages: ds.messages,
      build: {
        method:
          'offline: ChatState.apply on the real schema, 20,000 ops per transaction; the log written as one segment',
        seconds: round(ds.seconds),
        messagesPerSecond: Math.round(ds.messages / ds.seconds),
      },
      dataBytes,
      cold,
      follower: followerResult,
    };
  } finally {
    await cluster.stop();
  }
}

async function storeLoad(
  ctx: BenchContext,
  seedDataDir: string,
  tokens: { username: string; token: string }[],
  tag: string,
): Promise<LoadResult> {
  const cluster = await BenchCluster.start({ seedDataDir });
  try {
    const leader = await cluster.waitForLeader(60_000);
    for (const id of cluster.ids) if (id !== leader) await cluster.waitInSync(id, 60_000);
    const r = await closedLoop({
      servers: cluster.addresses,
      users: ring(tokens),
      inflight: 64,
      workers: ctx.settings.workers,
      warmupMs: ctx.settings.warmupMs,
      durationMs: ctx.settings.durationMs,
      pids: cluster.pids(),
      batchEvents: { ops: cluster.ops, address: cluster.addressOf(leader) },
      tag,
    });
    const { samples: _samples, ...rest } = r;
    return rest;
  } finally {
    await cluster.stop();
  }
}

export async function runHistory(ctx: BenchContext): Promise<HistoryResult> {
  const large = await ctx.largeStore();
  const empty = await ctx.usersStore();
  const emptyLoad = await storeLoad(ctx, empty.dir, empty.accounts.slice(0, 16), 'hist-empty');
  ctx.log(`  empty store: ${emptyLoad.sendsPerSecond} sends/s, p99 ${emptyLoad.latencyMs.p99} ms`);
  const fullLoad = await storeLoad(ctx, large.dir, large.accounts.slice(0, 16), 'hist-full');
  ctx.log(
    `  ${large.messages.toLocaleString('en-US')} messages stored: ${fullLoad.sendsPerSecond} sends/s, p99 ${fullLoad.latencyMs.p99} ms`,
  );
  return {
    messages: large.messages,
    empty: emptyLoad,
    full: fullLoad,
    ratio: round(fullLoad.sendsPerSecond / Math.max(1, emptyLoad.sendsPerSecond)),
  };
}
