/**
 * The chat cluster against etcd on the same machine, in the same run: rounds
 * of a three-member etcd, three chat replicas in-sync and three in majority
 * mode, one system at a time on fresh data directories, the order reversed
 * every other round so that the disk's drift hits all of them alike. Each
 * system first idles (its CPU with no clients), then takes the throughput
 * scenario's closed loops: the same client processes, in-flight levels and
 * payload size, etcd's KV.Put to its leader where chat sends a message.
 */
import { sleep } from '../lib/clock.js';
import { BenchCluster } from '../lib/cluster.js';
import type { BenchContext } from '../lib/context.js';
import { ETCD_MISSING, EtcdCluster, etcdVersion, findEtcd } from '../lib/etcd.js';
import { closedLoop, type LoadResult } from '../lib/load.js';
import { CpuWindow } from '../lib/proc.js';
import { chatLevel, LEVELS, LOAD_USERS, loadUsers, type ReplicationMode } from './throughput.js';

export type ComparedSystem = 'etcd' | ReplicationMode;

export interface IdleCpu {
  seconds: number;
  /** Percent of one core, all of the system's processes together. */
  totalPercent: number;
  /** Percent of one core per process (replica id or etcd member name). */
  perProcess: Record<string, number>;
}

export interface SystemRun {
  system: ComparedSystem;
  idle: IdleCpu;
  levels: LoadResult[];
}

export interface EtcdRound {
  /** The systems in the order they ran. */
  runs: SystemRun[];
}

export interface EtcdComparison {
  /** Why the comparison did not run (no etcd binary). */
  skipped?: string;
  /** As `etcd --version` says, e.g. 3.4.23. */
  etcdVersion?: string;
  rounds: EtcdRound[];
}

/** The run of `system` in a round. */
export function runOf(round: EtcdRound, system: ComparedSystem): SystemRun | undefined {
  return round.runs.find((r) => r.system === system);
}

async function idleCpu(pids: Record<string, number | undefined>, seconds: number): Promise<IdleCpu> {
  const window = new CpuWindow(pids);
  await sleep(seconds * 1000);
  const cpu = window.finish();
  const perProcess = Object.fromEntries(
    Object.keys(pids)
      .filter((k) => cpu[k] !== undefined)
      .map((k) => [k, cpu[k]!]),
  );
  const total = Math.round(Object.values(perProcess).reduce((s, v) => s + v, 0) * 10) / 10;
  return { seconds, totalPercent: total, perProcess };
}

function strip(r: LoadResult): LoadResult {
  const { samples: _samples, ...rest } = r;
  return rest;
}

function logLevel(ctx: BenchContext, system: ComparedSystem, r: LoadResult): void {
  ctx.log(
    `  ${system}, ${r.inflight} in flight: ${r.sendsPerSecond}/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, cpu ${JSON.stringify(r.cpu)}`,
  );
}

async function runEtcdCluster(ctx: BenchContext, binary: string, idleSeconds: number): Promise<SystemRun> {
  const s = ctx.settings;
  const etcd = await EtcdCluster.start(binary);
  try {
    const leader = await etcd.waitForLeader();
    await sleep(2_000);
    const idle = await idleCpu(etcd.pids(), idleSeconds);
    ctx.log(`  etcd idle: ${idle.totalPercent}% of a core (${JSON.stringify(idle.perProcess)})`);
    const levels: LoadResult[] = [];
    for (const inflight of LEVELS) {
      const r = await closedLoop({
        servers: [],
        users: [],
        inflight,
        workers: inflight === 1 ? 1 : s.workers,
        warmupMs: s.warmupMs,
        durationMs: s.durationMs,
        etcd: { address: leader, clients: LOAD_USERS },
        pids: etcd.pids(),
        tag: `etcd-i${inflight}`,
      });
      logLevel(ctx, 'etcd', r);
      levels.push(strip(r));
    }
    return { system: 'etcd', idle, levels };
  } finally {
    await etcd.stop();
  }
}

async function runChatCluster(ctx: BenchContext, mode: ReplicationMode, idleSeconds: number): Promise<SystemRun> {
  const cluster = await BenchCluster.start({ replicas: 3, args: ['--mode', mode] });
  try {
    const leader = await cluster.waitForLeader();
    const users = await loadUsers(cluster);
    await sleep(2_000);
    const idle = await idleCpu(cluster.pids(), idleSeconds);
    ctx.log(`  chat ${mode} idle: ${idle.totalPercent}% of a core (${JSON.stringify(idle.perProcess)})`);
    const levels: LoadResult[] = [];
    for (const inflight of LEVELS) {
      const r = await chatLevel(ctx, cluster, users, leader, inflight, `vs-${mode}-i${inflight}`);
      logLevel(ctx, mode, r);
      levels.push(strip(r));
    }
    return { system: mode, idle, levels };
  } finally {
    await cluster.stop();
  }
}

export async function runEtcd(ctx: BenchContext): Promise<EtcdComparison> {
  const binary = findEtcd();
  if (!binary) {
    ctx.log(`  ${ETCD_MISSING}`);
    return { skipped: ETCD_MISSING, rounds: [] };
  }
  const version = etcdVersion(binary);
  ctx.log(`  etcd ${version} at ${binary}`);
  const idleSeconds = Math.max(3, Math.min(10, ctx.settings.durationMs / 1000));
  const rounds: EtcdRound[] = [];
  for (let r = 0; r < ctx.settings.etcdRounds; r++) {
    const order: ComparedSystem[] = r % 2 === 0 ? ['etcd', 'in-sync', 'majority'] : ['majority', 'in-sync', 'etcd'];
    ctx.log(`  round ${r + 1} of ${ctx.settings.etcdRounds}: ${order.join(', ')}`);
    const runs: SystemRun[] = [];
    for (const system of order) {
      runs.push(
        system === 'etcd'
          ? await runEtcdCluster(ctx, binary, idleSeconds)
          : await runChatCluster(ctx, system, idleSeconds),
      );
    }
    rounds.push({ runs });
  }
  return { etcdVersion: version, rounds };
}
