/**
 * CPU profiles of the three replicas and the client processes during the
 * 64-in-flight load (`--profile`): where the time goes when the targets are
 * missed.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createAccounts, ring } from '../lib/accounts.js';
import { BenchCluster } from '../lib/cluster.js';
import type { BenchContext } from '../lib/context.js';
import { closedLoop, type LoadResult } from '../lib/load.js';
import { summarizeProfile, type ProfileSummary } from '../lib/profile.js';

export interface ProfileResult {
  load: LoadResult;
  leader: string;
  profiles: (ProfileSummary & { process: string })[];
}

export async function runProfile(ctx: BenchContext): Promise<ProfileResult> {
  const dir = ctx.settings.profileDir ?? join(ctx.tmp, 'profiles');
  const serverDir = join(dir, 'servers');
  const clientDir = join(dir, 'clients');
  mkdirSync(serverDir, { recursive: true });
  mkdirSync(clientDir, { recursive: true });
  const cluster = await BenchCluster.start({ cpuProfDir: serverDir });
  let leader = '';
  let load: LoadResult;
  let loadStarted = 0;
  let loadEnded = 0;
  let stopped = 0;
  try {
    leader = await cluster.waitForLeader();
    const accounts = await createAccounts(
      cluster.addresses,
      Array.from({ length: 16 }, (_, i) => `prof${i}`),
    );
    loadStarted = Date.now() + ctx.settings.warmupMs;
    const r = await closedLoop({
      servers: cluster.addresses,
      users: ring(accounts),
      inflight: 64,
      workers: ctx.settings.workers,
      warmupMs: ctx.settings.warmupMs,
      durationMs: ctx.settings.durationMs,
      pids: cluster.pids(),
      batchEvents: { ops: cluster.ops, address: cluster.addressOf(leader) },
      cpuProfDir: clientDir,
      tag: 'prof',
    });
    loadEnded = loadStarted + ctx.settings.durationMs;
    const { samples: _samples, ...rest } = r;
    load = rest;
  } finally {
    await cluster.stop({ graceful: true });
    stopped = Date.now();
  }
  // Only the measurement window of the servers' profiles (not start-up, account creation or shutdown).
  const window = { fromEndSeconds: (stopped - loadStarted) / 1000, toEndSeconds: (stopped - loadEnded) / 1000 };
  const profiles: ProfileResult['profiles'] = [];
  for (const f of readdirSync(serverDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()) {
    const id = f.split('-')[0]!;
    profiles.push({
      process: `replica ${id}${id === leader ? ' (leader)' : ''}`,
      ...summarizeProfile(join(serverDir, f), 12, window),
    });
  }
  // Client profiles: main threads only (CPU.<date>.<time>.<pid>.<thread>.<seq>; tsx's loader thread has its own),
  // over the run of the load (each worker exits right after it).
  const clientWindow = { fromEndSeconds: (ctx.settings.warmupMs + ctx.settings.durationMs) / 1000, toEndSeconds: 0.3 };
  for (const f of readdirSync(clientDir)
    .filter((f) => f.endsWith('.cpuprofile') && f.split('.')[4] === '0')
    .sort()) {
    profiles.push({ process: 'client worker', ...summarizeProfile(join(clientDir, f), 12, clientWindow) });
  }
  for (const p of profiles) {
    ctx.log(
      `  ${p.process}: busy ${p.busyPercent}% of ${p.seconds} s; ${p.areas
        .slice(0, 5)
        .map((a) => `${a.frame} ${a.percent}%`)
        .join(', ')}`,
    );
  }
  return { load, leader, profiles };
}
