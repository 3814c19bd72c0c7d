/**
 * Load worker processes: each runs bench/worker.ts (through tsx) with one job.
 * The parent forks them, waits until all are ready, starts them together and
 * collects their samples. Their pids are exposed for CPU readings.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { within } from './clock.js';
import type { Job, JobResult, ParentMessage, WorkerMessage } from './jobs.js';
import { REPO_ROOT } from './cluster.js';

const WORKER = join(REPO_ROOT, 'bench/worker.ts');

export class LoadWorker {
  private readonly ready: Promise<void>;
  private readonly done: Promise<JobResult>;
  private readonly child: ChildProcess;
  /** Deliveries reported so far by a listen job. */
  delivered = 0;

  constructor(
    readonly job: Job,
    readonly name: string,
    options: { cpuProfDir?: string } = {},
  ) {
    const profile = options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : [];
    this.child = fork(WORKER, [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx', ...profile],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let onReady: () => void = () => undefined;
    let onError: (e: Error) => void = () => undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onError = reject;
    });
    this.done = new Promise<JobResult>((resolve, reject) => {
      this.child.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') onReady();
        else if (m.type === 'progress') this.delivered = m.delivered;
        else if (m.type === 'result') resolve(m.result);
        else if (m.type === 'error') {
          const err = new Error(`worker ${name} failed: ${m.message}`);
          onError(err);
          reject(err);
        }
      });
      this.child.once('exit', (code, signal) => {
        const err = new Error(`worker ${name} exited (${signal ?? `code ${code}`}) before it finished`);
        onError(err);
        reject(err);
      });
    });
    // Both promises may be settled by an early exit before anyone awaits them.
    this.ready.catch(() => undefined);
    this.done.catch(() => undefined);
    this.post({ type: 'job', job });
  }

  get pid(): number | undefined {
    return this.child.exitCode === null ? this.child.pid : undefined;
  }

  whenReady(timeoutMs = 60_000): Promise<void> {
    return within(`worker ${this.name} to get ready`, timeoutMs, this.ready);
  }

  start(): void {
    this.post({ type: 'start' });
  }

  stop(): void {
    this.post({ type: 'stop' });
  }

  result(timeoutMs = 120_000): Promise<JobResult> {
    return within(`worker ${this.name} to finish`, timeoutMs, this.done);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /** Waits for the worker to exit by itself (so a CPU profile gets written), then kills it. */
  async exit(timeoutMs: number): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.kill();
  }

  private post(m: ParentMessage): void {
    if (this.child.connected) this.child.send(m);
  }
}

/** Forks the workers, waits until all are ready, then starts them at once. */
export async function startWorkers(
  jobs: { job: Job; name: string }[],
  options: { cpuProfDir?: string } = {},
): Promise<LoadWorker[]> {
  const workers = jobs.map(({ job, name }) => new LoadWorker(job, name, options));
  try {
    await Promise.all(workers.map((w) => w.whenReady()));
  } catch (err) {
    for (const w of workers) w.kill();
    throw err;
  }
  for (const w of workers) w.start();
  return workers;
}

export async function results<T extends JobResult>(workers: LoadWorker[], timeoutMs?: number): Promise<T[]> {
  try {
    return (await Promise.all(workers.map((w) => w.result(timeoutMs)))) as T[];
  } finally {
    await Promise.all(workers.map((w) => w.exit(5_000)));
  }
}

/** Splits `items` into `parts` nearly equal slices (none empty when items suffice). */
export function split<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = Array.from({ length: Math.max(1, Math.min(parts, items.length)) }, () => []);
  items.forEach((item, i) => out[i % out.length]!.push(item));
  return out;
}
