/**
 * Durable sends per second and their latency at 1, 16 and 64 sends in flight,
 * on three replicas (the product) or one (the cost of replication), and in
 * majority mode on three and five replicas (the cost of partition safety). With
 * three in-sync replicas it also runs 64 in flight from 1, 2 and 4 client
 * processes, to show whether the load generator is the bottleneck.
 */
import { createAccounts, ring } from '../lib/accounts.js';
import { BenchCluster } from '../lib/cluster.js';
import type { BenchContext } from '../lib/context.js';
import type { SendUser } from '../lib/jobs.js';
import { closedLoop, type LoadResult } from '../lib/load.js';

export const LEVELS = [1, 16, 64];
export const LOAD_USERS = 16;

export interface LatencyHistogram {
  /** Upper bounds of the buckets in ms (log scale). */
  bounds: number[];
  counts: number[];
}

export type ReplicationMode = 'in-sync' | 'majority';

export interface ThroughputResult {
  replicas: number;
  /** Absent in results from before majority mode was measured: in-sync. */
  mode?: ReplicationMode;
  levels: LoadResult[];
  /** 64 in flight from different numbers of client processes (three replicas only). */
  clientProcesses: LoadResult[];
  /** Latency distribution at the highest level. */
  histogram: LatencyHistogram | undefined;
}

export function histogram(samples: Float64Array): LatencyHistogram {
  const bounds: number[] = [];
  for (let b = 0.25; b < 60_000; b *= 1.5) bounds.push(Math.round(b * 100) / 100);
  const counts = new Array<number>(bounds.length).fill(0);
  for (const v of samples) {
    let i = bounds.findIndex((b) => v <= b);
    if (i < 0) i = bounds.length - 1;
    counts[i]!++;
  }
  // Trim empty buckets at both ends.
  const first = counts.findIndex((c) => c > 0);
  const last = counts.length - 1 - [...counts].reverse().findIndex((c) => c > 0);
  return first < 0
    ? { bounds: [], counts: [] }
    : { bounds: bounds.slice(first, last + 1), counts: counts.slice(first, last + 1) };
}

function strip(r: LoadResult): LoadResult {
  const { samples: _samples, ...rest } = r;
  return rest;
}

/** LOAD_USERS accounts on `cluster`, each sending to the next. */
export async function loadUsers(cluster: BenchCluster): Promise<SendUser[]> {
  const names = Array.from({ length: LOAD_USERS }, (_, i) => `load${i}`);
  return ring(await createAccounts(cluster.addresses, names));
}

/** One in-flight level of the closed loop against `cluster`'s leader, as every chat row here and in the etcd comparison runs it. */
export function chatLevel(
  ctx: BenchContext,
  cluster: BenchCluster,
  users: SendUser[],
  leader: string,
  inflight: number,
  tag: string,
): Promise<LoadResult> {
  const s = ctx.settings;
  return closedLoop({
    servers: cluster.addresses,
    users,
    inflight,
    workers: inflight === 1 ? 1 : s.workers,
    warmupMs: s.warmupMs,
    durationMs: s.durationMs,
    pids: cluster.pids(),
    batchEvents: { ops: cluster.ops, address: cluster.addressOf(leader) },
    tag,
  });
}

export async function runThroughput(
  ctx: BenchContext,
  replicas: 1 | 3 | 5,
  mode: ReplicationMode = 'in-sync',
): Promise<ThroughputResult> {
  const s = ctx.settings;
  const product = replicas === 3 && mode === 'in-sync';
  const cluster = await BenchCluster.start({ replicas, args: ['--mode', mode] });
  try {
    const leader = await cluster.waitForLeader();
    const users = await loadUsers(cluster);
    const levels: LoadResult[] = [];
    let hist: LatencyHistogram | undefined;
    for (const inflight of LEVELS) {
      const r = await chatLevel(
        ctx,
        cluster,
        users,
        leader,
        inflight,
        `r${replicas}${mode === 'majority' ? 'm' : ''}i${inflight}`,
      );
      ctx.log(
        `  ${replicas} replica(s), ${mode}, ${inflight} in flight: ${r.sendsPerSecond} sends/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, batch ${r.avgBatch ?? '-'}, cpu ${JSON.stringify(r.cpu)}`,
      );
      if (product && r.avgBatch !== undefined) ctx.batchSizes.set(inflight, r.avgBatch);
      if (inflight === LEVELS[LEVELS.length - 1] && r.samples) hist = histogram(r.samples);
      levels.push(strip(r));
    }
    const clientProcesses: LoadResult[] = [];
    if (product && !s.quick) {
      for (const workers of [1, 2, 4]) {
        const r = await closedLoop({
          servers: cluster.addresses,
          users,
          inflight: 64,
          workers,
          warmupMs: s.warmupMs,
          durationMs: s.durationMs,
          pids: cluster.pids(),
          tag: `procs${workers}`,
        });
        ctx.log(
          `  64 in flight from ${workers} client process(es): ${r.sendsPerSecond} sends/s, p99 ${r.latencyMs.p99} ms, cpu ${JSON.stringify(r.cpu)}`,
        );
        clientProcesses.push(strip(r));
      }
    }
    return { replicas, mode, levels, clientProcesses, histogram: hist };
  } finally {
    await cluster.stop();
  }
}

export interface MajorityResult {
  three: ThroughputResult;
  five: ThroughputResult;
}

/** The same closed loops in majority mode, on three and on five replicas. */
export async function runMajority(ctx: BenchContext): Promise<MajorityResult> {
  const three = await runThroughput(ctx, 3, 'majority');
  const five = await runThroughput(ctx, 5, 'majority');
  return { three, five };
}
