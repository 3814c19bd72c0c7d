/**
 * The processes of the multi-host tests: chat-server replicas, each in its
 * own namespace of a NetnsLab, and client agents (agent.ts) in namespaces of
 * their own, driven over one JSON line per command on stdin/stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ProcessCluster } from '../../src/launch/process-cluster/process-cluster.js';
import { LOAD_TEST_LIMITS, SERVER_MAIN } from '../support/cluster.js';
import type { NetnsLab } from './netns.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const AGENT = join(REPO, 'test/multihost/agent.ts');
const PORT = 50051;

/** Agents still running, killed if the test process exits without cleaning up. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** The parent side of a client agent: call(op, args) sends one command and resolves with its answer. */
export class Agent {
  private next = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly ready: Promise<void>;
  stderr = '';

  constructor(readonly child: ChildProcess) {
    let onReady: () => void = () => undefined;
    let onExit: (e: Error) => void = () => undefined;
    this.ready = new Promise((resolve, reject) => {
      onReady = resolve;
      onExit = reject;
    });
    this.ready.catch(() => undefined);
    live.add(child);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: { id: number; ok: boolean; result?: unknown; error?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.id === 0) return onReady();
      const w = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      if (msg.ok) w?.resolve(msg.result);
      else w?.reject(new Error(msg.error));
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    child.once('exit', (code) => {
      live.delete(child);
      onExit(new Error(`the client agent exited (${code}) before it was ready: ${this.stderr}`));
      for (const w of this.waiting.values()) w.reject(new Error(`the client agent exited (${code}): ${this.stderr}`));
      this.waiting.clear();
    });
  }

  /** Runs agent.ts in the namespace of lab host `host`, knowing only the replica addresses `servers`. */
  static spawn(lab: NetnsLab, host: string, servers: string[]): Agent {
    const [cmd, ...rest] = lab.command(host, [process.execPath, '--import', 'tsx', AGENT, servers.join(',')]);
    return new Agent(spawn(cmd!, rest, { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  async call<T>(op: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    await this.ready;
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`agent call ${op} got no answer within ${timeoutMs + 5_000} ms`));
      }, timeoutMs + 5_000);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.stdin!.write(`${JSON.stringify({ id, op, timeoutMs, ...args })}\n`);
    });
  }

  /** Ends the agent (closing stdin lets it close its clients), killing it if it does not exit within 2 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  }
}

/** chat-server replicas, one per lab host of the same name, all on PORT, data and logs under `root`: the shared process cluster, each replica spawned in its namespace. */
export class LabReplicas {
  private readonly procs: ProcessCluster;

  constructor(
    private readonly lab: NetnsLab,
    root: string,
    readonly ids: string[],
    /** Options every replica gets (e.g. --mode majority). */
    common: string[] = [],
  ) {
    // Peers on the default peer port (PORT + 1000) of each host, proving the lab's cluster secret.
    const secretFile = join(root, 'cluster.secret');
    writeFileSync(secretFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
    this.procs = new ProcessCluster({
      serverMain: SERVER_MAIN,
      root,
      replicas: ids.map((id) => ({ id, address: this.address(id) })),
      logLevel: 'debug',
      args: ['--cluster-secret-file', secretFile, ...LOAD_TEST_LIMITS, ...common],
      command: (id, argv) => lab.command(id, argv),
      onSpawn: (id, child) => child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[${id}] ${d.toString()}`)),
    });
  }

  address(id: string): string {
    return `${this.lab.host(id).address}:${PORT}`;
  }

  addresses(): string[] {
    return this.ids.map((id) => this.address(id));
  }

  logFile(id: string): string {
    return this.procs.logFile(id);
  }

  /** Starts replica `id` in its namespace, with `extra` options after the common ones. */
  start(id: string, extra: string[] = []): void {
    this.procs.start(id, extra);
  }

  isRunning(id: string): boolean {
    return this.procs.isRunning(id);
  }

  /** SIGKILLs the replica and resolves once it has exited. */
  kill(id: string): Promise<void> {
    return this.procs.kill(id);
  }

  killAll(): Promise<void> {
    return this.procs.killAll();
  }

  /** Every JSON line of the replica's log file (none when there is no file yet). */
  logLines(id: string): Record<string, unknown>[] {
    return this.procs.logRecords(id);
  }

  /** The last `n` lines of every replica's log, for failure messages. */
  logTails(n = 6): string {
    return this.ids.map((id) => `--- ${id}\n${this.procs.logTail(id, n)}`).join('\n');
  }
}
