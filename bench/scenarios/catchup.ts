/**
 * Catch-up: a follower is killed, N messages are sent without it, and it is
 * restarted. The leader's catchup.done event (ClusterService.WatchEvents)
 * reports entries, time and entries per second from the moment the follower
 * answered until it was back within reach of the in-sync set. The log is kept
 * long enough here that it catches up from the log, not from a snapshot.
 *
 * The growth scenario runs the same steps on a prepared store, and with the
 * log compacted short so that the follower is sent a snapshot instead.
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterEventView } from '../../src/client/index.js';
import { createAccounts, ring } from '../lib/accounts.js';
import { waitFor, wallMs } from '../lib/clock.js';
import { BenchCluster } from '../lib/cluster.js';
import type { BenchContext } from '../lib/context.js';
import { summarizeProfile, type ProfileSummary } from '../lib/profile.js';
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
  /** backlog / (process start → in sync): including the process start. */
  endToEndEntriesPerSecond: number;
  /** Sends per second while the follower was down (two replicas in sync). */
  fillRate: number;
  /** When the leader sent a snapshot (its log no longer held what the follower needed): from snapshot.transferred. */
  snapshot?: { bytes: number; ms: number };
  /** Snapshot transfers to the follower that failed (snapshot.failed: ms after the snapshot.sent before it, the reason); each is retried. */
  snapshotFailures?: { afterMs: number; message: string }[];
  /** With --profile: where the returning follower and the leader spent the catch-up. */
  profiles?: (ProfileSummary & { process: string })[];
}

export interface CatchupOptions {
  /** Entries to send while the follower is down (default: the --catchup setting). */
  backlog?: number;
  /** A prepared data directory every replica starts from (default: an empty cluster). */
  seedDataDir?: string;
  /** Keep only this many entries in the log (compacting at twice that), so the follower needs a snapshot. */
  snapshotRetain?: number;
}

export async function runCatchup(ctx: BenchContext, options: CatchupOptions = {}): Promise<CatchupResult> {
  const n = options.backlog ?? ctx.settings.catchupEntries;
  const profileDir = ctx.settings.profileDir ? join(ctx.settings.profileDir, 'catchup') : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const retain = options.snapshotRetain ?? n * 2;
  const cluster = await BenchCluster.start({
    args: ['--compact-threshold', String(retain * 2), '--retain-entries', String(retain)],
    cpuProfDir: profileDir,
    seedDataDir: options.seedDataDir,
  });
  let result: CatchupResult | undefined;
  let window: { inSync: number; ms: number } | undefined;
  let leaderId = '';
  let followerId = '';
  try {
    const leader = await cluster.waitForLeader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    leaderId = leader;
    followerId = follower;
    const accounts = await createAccounts(
      cluster.addresses,
      Array.from({ length: 16 }, (_, i) => `cu${i}`),
    );
    await cluster.kill(follower);
    const start = (await cluster.status(leader)).commitIndex;
    const fillStarted = wallMs();
    const workers = await startWorkers(
      split(ring(accounts), ctx.settings.workers).map((slice, w) => ({
        name: `cu${w}`,
        job: {
          kind: 'send' as const,
          servers: cluster.addresses,
          users: slice,
          loopsPerUser: 4,
          durationMs: null,
          textBytes: 100,
          deadlineMs: 3_000,
          retryBudgetMs: 15_000,
          tag: 'cu',
          keepTexts: false,
        },
      })),
    );
    try {
      await waitFor(
        `${n} entries without ${follower}`,
        30 * 60_000,
        async () => (await cluster.status(leader)).commitIndex >= start + n || undefined,
        200,
      );
    } finally {
      for (const w of workers) w.stop();
    }
    await results(workers);
    const filled = (await cluster.status(leader)).commitIndex - start;
    const fillRate = Math.round(filled / ((wallMs() - fillStarted) / 1000));
    ctx.log(`  ${filled} entries sent while ${follower} was down (${fillRate}/s); restarting it`);
    let done: ClusterEventView | undefined;
    let snapshot: CatchupResult['snapshot'];
    const snapshotFailures: { afterMs: number; message: string }[] = [];
    let snapshotSentAt = Number.NaN;
    const watch = cluster.ops.watchEvents(cluster.addressOf(leader), {
      onEvent: (e) => {
        if (e.kind === 'catchup.done' && e.details.follower === follower) done = e;
        if (e.kind === 'snapshot.transferred' && e.details.to === follower)
          snapshot = { bytes: Number(e.details.bytes), ms: Number(e.details.ms) };
        if (e.kind === 'snapshot.sent' && e.details.to === follower) snapshotSentAt = e.timeMs;
        if (e.kind === 'snapshot.failed' && e.details.to === follower)
          snapshotFailures.push({ afterMs: e.timeMs - snapshotSentAt, message: e.message });
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
      result = {
        backlog: filled,
        entries,
        ms,
        entriesPerSecond: Number(done!.details.entriesPerSecond ?? (ms > 0 ? Math.round((entries * 1000) / ms) : 0)),
        restartToInSyncMs: round(inSyncAt - spawned),
        endToEndEntriesPerSecond: Math.round(filled / ((inSyncAt - spawned) / 1000)),
        fillRate,
        ...(snapshot ? { snapshot } : {}),
        ...(snapshotFailures.length > 0 ? { snapshotFailures } : {}),
      };
      window = { inSync: inSyncAt, ms };
      ctx.log(
        `  caught up ${entries} entries in ${ms} ms (${result.entriesPerSecond} entries/s); ${result.restartToInSyncMs} ms from process start to in-sync`,
      );
    } finally {
      watch.close();
    }
  } finally {
    await cluster.stop({ graceful: profileDir !== undefined });
  }
  if (profileDir && window) {
    const stopped = Date.now();
    // The catch-up itself, as the leader timed it (catchup.done), up to the follower being back in sync.
    const span = {
      fromEndSeconds: (stopped - window.inSync + window.ms) / 1000,
      toEndSeconds: (stopped - window.inSync) / 1000,
    };
    const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
    const newest = (id: string) =>
      files
        .filter((f) => f.startsWith(`${id}-`))
        .sort((a, b) => statSync(join(profileDir, b)).mtimeMs - statSync(join(profileDir, a)).mtimeMs)[0];
    result!.profiles = [];
    for (const [id, role] of [
      [followerId, 'returning follower'],
      [leaderId, 'leader'],
    ] as const) {
      const f = newest(id);
      if (f)
        result!.profiles.push({
          process: `${role} ${id} during catch-up`,
          ...summarizeProfile(join(profileDir, f), 12, span),
        });
    }
    for (const p of result!.profiles)
      ctx.log(
        `  ${p.process}: busy ${p.busyPercent}%; ${p.areas
          .slice(0, 5)
          .map((a) => `${a.frame} ${a.percent}%`)
          .join(', ')}`,
      );
  }
  return result!;
}
