/**
 * The ceilings the chat numbers are compared with: a plain gRPC echo between
 * the same kind of processes (the transport), and batched SQLite commits with
 * WAL and synchronous=FULL (the disk), at the batch sizes the leader used.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../lib/cluster.js';
import { applyCeiling, type ApplyCeiling } from '../lib/apply-ceiling.js';
import type { BenchContext } from '../lib/context.js';
import type { DiskResult } from '../lib/jobs.js';
import { closedLoop, type LoadResult } from '../lib/load.js';
import { results, startWorkers } from '../lib/workers.js';
import { LEVELS } from './throughput.js';

export interface EchoResult {
  levels: LoadResult[];
}

export async function runEcho(ctx: BenchContext): Promise<EchoResult> {
  const s = ctx.settings;
  const server = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/echo-server.ts'), '127.0.0.1:0'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the echo server did not start within 30 s')), 30_000);
      createInterface({ input: server.stdout! }).on('line', (line) => {
        const m = /^port (\d+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      server.once('exit', (code) => reject(new Error(`the echo server exited with ${code}`)));
    });
    const levels: LoadResult[] = [];
    for (const inflight of LEVELS) {
      const r = await closedLoop({
        servers: [],
        users: [],
        inflight,
        workers: inflight === 1 ? 1 : s.workers,
        warmupMs: s.warmupMs,
        durationMs: s.durationMs,
        echoAddress: `127.0.0.1:${port}`,
        pids: { echo: server.pid },
      });
      ctx.log(
        `  gRPC echo, ${inflight} in flight: ${r.sendsPerSecond} calls/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, cpu ${JSON.stringify(r.cpu)}`,
      );
      const { samples: _samples, ...rest } = r;
      levels.push(rest);
    }
    return { levels };
  } finally {
    server.kill('SIGKILL');
  }
}

export interface DiskLevel {
  batch: number;
  /** Commits (fsyncs) per second and rows per second of one writer. */
  commitsPerSecond: number;
  rowsPerSecond: number;
  /** The same with three writers at once on the same disk (three replicas on one machine), summed. */
  threeWritersCommitsPerSecond: number;
  threeWritersRowsPerSecond: number;
}

export interface DiskCeilingResult {
  entryBytes: number;
  levels: DiskLevel[];
  /** Persist + apply with the server's own log store and chat state machine, one process, no network. */
  apply: ApplyCeiling[];
}

async function diskRun(
  ctx: BenchContext,
  batch: number,
  writers: number,
  durationMs: number,
  entryBytes: number,
): Promise<DiskResult[]> {
  const jobs = Array.from({ length: writers }, (_, i) => ({
    name: `disk${i}`,
    job: { kind: 'disk' as const, dir: join(ctx.tmp, `disk-${batch}-${writers}-${i}`), batch, durationMs, entryBytes },
  }));
  return results<DiskResult>(await startWorkers(jobs), durationMs + 60_000);
}

export async function runDisk(ctx: BenchContext): Promise<DiskCeilingResult> {
  const entryBytes = 260; // a sendMessage op of about 100 characters, as JSON
  // The leader's batch sizes at 16 and 64 in flight (as measured, or half the sends in flight), and 512: the entries per append during catch-up.
  const batches = [
    ...new Set([1, ...LEVELS.slice(1).map((l) => Math.max(1, Math.round(ctx.batchSizes.get(l) ?? l / 2))), 512]),
  ].sort((a, b) => a - b);
  const durationMs = Math.max(2_000, Math.round(ctx.settings.durationMs / 2));
  const levels: DiskLevel[] = [];
  for (const batch of batches) {
    const [one] = await diskRun(ctx, batch, 1, durationMs, entryBytes);
    const three = await diskRun(ctx, batch, 3, durationMs, entryBytes);
    const level: DiskLevel = {
      batch,
      commitsPerSecond: Math.round(one!.transactions / one!.seconds),
      rowsPerSecond: Math.round(one!.rows / one!.seconds),
      threeWritersCommitsPerSecond: Math.round(three.reduce((s, r) => s + r.transactions / r.seconds, 0)),
      threeWritersRowsPerSecond: Math.round(three.reduce((s, r) => s + r.rows / r.seconds, 0)),
    };
    ctx.log(
      `  SQLite WAL+FULL, batch ${batch}: ${level.commitsPerSecond} commits/s (${level.rowsPerSecond} rows/s); three writers: ${level.threeWritersCommitsPerSecond} commits/s in total`,
    );
    levels.push(level);
  }
  const apply: ApplyCeiling[] = [];
  for (const batch of batches) {
    const a = applyCeiling(ctx.tmp, batch, durationMs);
    ctx.log(
      `  log append + ChatState.apply, batch ${batch}: ${a.entriesPerSecond} entries/s at ${a.cpuPercent}% of a core`,
    );
    apply.push(a);
  }
  return { entryBytes, levels, apply };
}
