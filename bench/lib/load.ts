/**
 * Closed-loop load through worker processes, measured over a window after a
 * warm-up: throughput, latency percentiles, failures, the CPU share of every
 * replica and worker, and the leader's average replication batch.
 */
import type { ClusterClient } from '../../src/client/index.js';
import { sleep, wallMs } from './clock.js';
import type { Job, SendResult, SendUser } from './jobs.js';
import { CpuWindow } from './proc.js';
import { round, roundSummary, summarize, type LatencySummary } from './stats.js';
import { results, split, startWorkers } from './workers.js';

export interface LoadResult {
  inflight: number;
  workers: number;
  seconds: number;
  sendsPerSecond: number;
  latencyMs: LatencySummary;
  failures: number;
  failureSamples: string[];
  /** Percent of one core per process (replicas by id, workers as w0, w1, ...). */
  cpu: Record<string, number>;
  /** Entries per leader log batch (one transaction and fsync each), from the replication.batch events. */
  avgBatch: number | undefined;
  /** The raw latencies of the window, for charts (not stored in the JSON). */
  samples?: Float64Array;
}

export interface ClosedLoopOptions {
  servers: string[];
  users: SendUser[];
  inflight: number;
  workers: number;
  warmupMs: number;
  durationMs: number;
  textBytes?: number;
  /** Processes whose CPU to report (e.g. the replicas). */
  pids?: Record<string, number | undefined>;
  /** Watch this replica's replication.batch events for the batch size. */
  batchEvents?: { ops: ClusterClient; address: string };
  tag?: string;
  /** Per-attempt deadline and retry budget of the clients. */
  deadlineMs?: number;
  retryBudgetMs?: number;
  /** Echo instead of chat: the address of the echo server. */
  echoAddress?: string;
  /** etcd instead of chat: KV.Put to this member (the leader), from up to `clients` clients (chat's users: one client each). */
  etcd?: { address: string; clients: number };
  /** Write CPU profiles of the client processes here. */
  cpuProfDir?: string;
}

/** Users for a level: as many as in-flight sends (up to the pool), each with an equal number of loops. */
export function usersFor<T>(pool: T[], inflight: number): { users: T[]; loopsPerUser: number } {
  const n = Math.min(pool.length, inflight);
  if (inflight % n !== 0) throw new Error(`${inflight} in flight cannot be split evenly over ${n} users`);
  return { users: pool.slice(0, n), loopsPerUser: inflight / n };
}

/** The worker jobs of a closed loop: chat sends, echo calls or etcd puts, split over the worker processes. */
function loadJobs(o: ClosedLoopOptions, totalMs: number): { name: string; job: Job }[] {
  const textBytes = o.textBytes ?? 100;
  if (o.echoAddress) {
    return split(
      Array.from({ length: o.inflight }, (_, i) => i),
      Math.min(o.workers, o.inflight),
    ).map((slice, w) => ({
      name: `echo${w}`,
      job: {
        kind: 'echo',
        address: o.echoAddress!,
        loops: slice.length,
        durationMs: totalMs,
        payloadBytes: textBytes + 60,
      },
    }));
  }
  if (o.etcd) {
    const { users: clients, loopsPerUser } = usersFor(
      Array.from({ length: o.etcd.clients }, (_, i) => i),
      o.inflight,
    );
    return split(clients, Math.min(o.workers, clients.length)).map((slice, w) => ({
      name: `etcd${w}`,
      job: {
        kind: 'etcd',
        address: o.etcd!.address,
        clients: slice.length,
        loopsPerClient: loopsPerUser,
        durationMs: totalMs,
        valueBytes: textBytes,
        deadlineMs: o.deadlineMs ?? 3_000,
        tag: `${o.tag ?? 'load'}/w${w}`,
      },
    }));
  }
  const { users, loopsPerUser } = usersFor(o.users, o.inflight);
  return split(users, Math.min(o.workers, users.length)).map((slice, w) => ({
    name: `w${w}`,
    job: {
      kind: 'send',
      servers: o.servers,
      users: slice,
      loopsPerUser,
      durationMs: totalMs,
      textBytes,
      deadlineMs: o.deadlineMs ?? 3_000,
      retryBudgetMs: o.retryBudgetMs ?? 15_000,
      tag: o.tag ?? 'load',
      keepTexts: false,
    },
  }));
}

export async function closedLoop(o: ClosedLoopOptions): Promise<LoadResult> {
  const totalMs = o.warmupMs + o.durationMs + 300;
  const jobs = loadJobs(o, totalMs);
  const batches: { entries: number; batches: number; time: number }[] = [];
  const watch = o.batchEvents?.ops.watchEvents(o.batchEvents.address, {
    onEvent: (e) => {
      if (e.kind !== 'replication.batch') return;
      const entries = Number(e.details.entries ?? 0);
      const count = Number(e.details.batches ?? 0);
      batches.push({ entries, batches: count, time: e.timeMs });
    },
  });
  try {
    const workers = await startWorkers(jobs, { cpuProfDir: o.cpuProfDir });
    await sleep(o.warmupMs);
    const windowStart = wallMs();
    const cpu = new CpuWindow({ ...(o.pids ?? {}), ...Object.fromEntries(workers.map((w, i) => [`w${i}`, w.pid])) });
    await sleep(o.durationMs);
    const windowEnd = wallMs();
    const cpuShares = cpu.finish();
    const all = await results<SendResult>(workers, totalMs + 60_000);
    const latencies: number[] = [];
    let acked = 0;
    let failures = 0;
    const failureSamples: string[] = [];
    for (const r of all) {
      for (let i = 0; i < r.starts.length; i++) {
        const end = r.starts[i]! + r.latencies[i]!;
        if (end < windowStart || end > windowEnd) continue;
        if (r.ok[i]) {
          acked++;
          latencies.push(r.latencies[i]!);
        } else failures++;
      }
      failureSamples.push(...r.failures.slice(0, 3));
    }
    const seconds = (windowEnd - windowStart) / 1000;
    const inWindow = batches.filter((b) => b.time >= windowStart && b.time <= windowEnd + 1_000);
    const batchCount = inWindow.reduce((s, b) => s + b.batches, 0);
    const samples = Float64Array.from(latencies);
    return {
      inflight: o.inflight,
      workers: jobs.length,
      seconds: round(seconds),
      sendsPerSecond: Math.round(acked / seconds),
      latencyMs: roundSummary(summarize(samples)),
      failures,
      failureSamples: [...new Set(failureSamples)].slice(0, 5),
      cpu: cpuShares,
      avgBatch: batchCount > 0 ? round(inWindow.reduce((s, b) => s + b.entries, 0) / batchCount) : undefined,
      samples,
    };
  } finally {
    watch?.close();
  }
}
