/**
 * Real chat-server processes on free loopback ports for the benchmarks and the
 * chaos run: each replica has its own data directory under one temp root, its
 * log in a file, and a known pid (for /proc CPU readings, SIGSTOP/SIGCONT and
 * CPU profiles). Everything started here is killed and removed by stop().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterClient } from '../../src/client/index.js';
import type { ReplicaStatusView } from '../../src/client/index.js';
import { sleep, waitFor } from './clock.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SERVER_MAIN = join(REPO_ROOT, 'dist/server/main.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) {
      try {
        process.kill(p.pid!, 'SIGCONT');
      } catch {
        // gone already
      }
      p.kill('SIGKILL');
    }
  });
}

/**
 * Rate limits out of the way of load that chats hard from one address and a
 * few sessions (benchmarks, and tests; a test of the limits gives its own,
 * later on the command line, which wins).
 */
export const LOAD_TEST_LIMITS = ['--send-limit-session', '100000/1s', '--login-limit-address', '100000/1s', '--login-limit-account', '100000/1s'];

export interface BenchClusterOptions {
  /** 1 (a single replica, no peers) or more; default 3. */
  replicas?: number;
  /** Extra chat-server options for every replica. */
  args?: string[];
  /** A data directory to copy into every replica's directory before the first start (a prepared data set). */
  seedDataDir?: string;
  /** Write a V8 CPU profile of each replica into this directory (written when a replica exits cleanly). */
  cpuProfDir?: string;
  logLevel?: string;
  /** Where the temp root goes (default: the OS temp dir). */
  parentDir?: string;
  /** Wait for a serving leader before returning (default true). */
  waitForLeader?: boolean;
}

export interface Incidents {
  electionsWon: number;
  quarantined: number;
  safetyViolations: number;
  firstViolation: string | undefined;
}

/** Incidents of every cluster stopped so far in this process, in order (the runner reads them per scenario). */
export const stoppedClusterIncidents: Incidents[] = [];

export class BenchCluster {
  readonly ids: string[];
  readonly addresses: string[];
  readonly root: string;
  /** Cluster calls (status, digests, events) through the client library. */
  readonly ops: ClusterClient;
  private readonly procs = new Map<string, ChildProcess>();
  private readonly startedAt = new Map<string, number>();
  private readonly stderr = new Map<string, string>();
  private stopped = false;

  private constructor(private readonly o: BenchClusterOptions, ids: string[], addresses: string[], private readonly peerAddresses: string[], root: string) {
    this.ids = ids;
    this.addresses = addresses;
    this.root = root;
    this.ops = new ClusterClient({ servers: addresses, deadlineMs: 2_000 });
  }

  static async start(options: BenchClusterOptions = {}): Promise<BenchCluster> {
    if (!existsSync(SERVER_MAIN)) throw new Error(`${SERVER_MAIN} is missing: run \`npm run build\` first`);
    installExitHook();
    const n = options.replicas ?? 3;
    const ids = Array.from({ length: n }, (_, i) => String.fromCharCode(65 + i));
    const addresses: string[] = [];
    for (let i = 0; i < n; i++) addresses.push(`127.0.0.1:${await freePort()}`);
    const peerAddresses: string[] = [];
    for (let i = 0; i < n; i++) peerAddresses.push(`127.0.0.1:${await freePort()}`);
    const root = mkdtempSync(join(options.parentDir ?? tmpdir(), 'chat-bench-'));
    writeFileSync(join(root, 'cluster.secret'), randomBytes(24).toString('base64url'), { mode: 0o600 });
    const cluster = new BenchCluster(options, ids, addresses, peerAddresses, root);
    for (const id of ids) {
      if (options.seedDataDir) cpSync(options.seedDataDir, cluster.dataDir(id), { recursive: true });
      cluster.spawnReplica(id);
    }
    if (options.waitForLeader ?? true) {
      try {
        await cluster.waitForLeader(60_000);
      } catch (err) {
        const tails = ids.map((id) => `--- ${id}\n${cluster.logTail(id, 8)}\n${cluster.stderr.get(id) ?? ''}`).join('\n');
        await cluster.stop();
        throw new Error(`${(err as Error).message}\n${tails}`);
      }
    }
    return cluster;
  }

  addressOf(id: string): string {
    return this.addresses[this.index(id)]!;
  }

  idOf(address: string): string {
    const i = this.addresses.indexOf(address);
    if (i < 0) throw new Error(`no replica at ${address}`);
    return this.ids[i]!;
  }

  dataDir(id: string): string {
    return join(this.root, id);
  }

  logFile(id: string): string {
    return join(this.root, `${id}.log`);
  }

  pid(id: string): number | undefined {
    return this.isRunning(id) ? this.procs.get(id)?.pid : undefined;
  }

  pids(): Record<string, number | undefined> {
    return Object.fromEntries(this.ids.map((id) => [id, this.pid(id)]));
  }

  isRunning(id: string): boolean {
    const p = this.procs.get(id);
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  /** When the replica's current process was spawned (ms, wall clock). */
  spawnTime(id: string): number {
    return this.startedAt.get(id) ?? 0;
  }

  /** Sends `signal` (default SIGKILL) and resolves once the process has exited. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs.get(id);
    if (!p || !this.isRunning(id)) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    if (signal === 'SIGKILL') {
      p.kill('SIGKILL');
    } else {
      try {
        process.kill(p.pid!, 'SIGCONT');
      } catch {
        // already gone
      }
      p.kill(signal);
      const forced = setTimeout(() => p.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(forced);
    }
    await exited;
  }

  /** Sends a signal without waiting (SIGSTOP / SIGCONT pauses). */
  signal(id: string, signal: NodeJS.Signals): void {
    const pid = this.pid(id);
    if (pid !== undefined) process.kill(pid, signal);
  }

  /** Starts a stopped replica again on its port and data directory; resolves when it answers a status call. */
  async restart(id: string, options: { wait?: boolean } = {}): Promise<void> {
    if (this.isRunning(id)) throw new Error(`replica ${id} is still running`);
    this.spawnReplica(id);
    if (options.wait ?? true) await waitFor(`replica ${id} to answer`, 30_000, () => this.status(id).then(() => true));
  }

  status(id: string): Promise<ReplicaStatusView> {
    return this.ops.status(this.addressOf(id));
  }

  /** The id of the replica that leads, has applied what it committed and serves. */
  async waitForLeader(timeoutMs = 20_000): Promise<string> {
    return waitFor('a serving leader', timeoutMs, async () => {
      const answers = await Promise.all(this.ids.filter((id) => this.isRunning(id)).map((id) => this.status(id).catch(() => undefined)));
      const leader = answers.find((s) => s?.role === 'leader' && s.appliedIndex >= s.commitIndex && s.commitIndex > 0);
      return leader?.id;
    });
  }

  /** Waits until `id` is in the leader's in-sync set again. */
  async waitInSync(id: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(`${id} to rejoin the in-sync set`, timeoutMs, async () => {
      const leader = await this.waitForLeader(timeoutMs);
      const s = await this.status(leader);
      return s.inSync.includes(id) ? true : undefined;
    });
  }

  /** Waits until every running replica has applied the same index (traffic must have stopped). */
  async waitApplied(timeoutMs = 30_000): Promise<number> {
    return waitFor('every replica to apply the same index', timeoutMs, async () => {
      const all = await Promise.all(this.ids.filter((id) => this.isRunning(id)).map((id) => this.status(id)));
      const first = all[0]!;
      return all.every((s) => s.appliedIndex === first.appliedIndex && s.commitIndex === first.appliedIndex) ? first.appliedIndex : undefined;
    }, 100);
  }

  /**
   * What the replicas' logs say happened that a healthy run does not need:
   * elections won, divergent entries quarantined, and safety violations (a
   * leader trying to overwrite a committed entry).
   */
  incidents(): Incidents {
    const out: Incidents = { electionsWon: 0, quarantined: 0, safetyViolations: 0, firstViolation: undefined };
    for (const id of this.ids) {
      let text = '';
      try {
        text = readFileSync(this.logFile(id), 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        if (line.includes('"event":"election.won"')) out.electionsWon++;
        else if (line.includes('"event":"log.quarantined"')) out.quarantined++;
        else if (line.includes('"event":"safety.violation"')) {
          out.safetyViolations++;
          if (!out.firstViolation) {
            try {
              const rec = JSON.parse(line) as { time: number; msg: string };
              out.firstViolation = `${new Date(rec.time).toISOString()} replica ${id}: ${rec.msg}`;
            } catch {
              out.firstViolation = `replica ${id}: ${line.slice(0, 200)}`;
            }
          }
        }
      }
    }
    return out;
  }

  logTail(id: string, lines: number): string {
    try {
      return readFileSync(this.logFile(id), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Stops every replica (gracefully when asked, so CPU profiles get written) and removes the temp root. */
  async stop(options: { graceful?: boolean; keep?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.ids.map((id) => this.kill(id, options.graceful ? 'SIGTERM' : 'SIGKILL')));
    stoppedClusterIncidents.push(this.incidents());
    this.ops.close();
    // Give the OS a moment to release the data files before removing them.
    await sleep(20);
    if (!options.keep) rmSync(this.root, { recursive: true, force: true });
  }

  private index(id: string): number {
    const i = this.ids.indexOf(id);
    if (i < 0) throw new Error(`no replica ${id} in this cluster`);
    return i;
  }

  private spawnReplica(id: string): void {
    const i = this.index(id);
    const peers = this.ids.filter((p) => p !== id).map((p) => `${p}=${this.addressOf(p)}/${this.peerAddresses[this.index(p)]}`).join(',');
    mkdirSync(this.dataDir(id), { recursive: true });
    const nodeFlags = this.o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', this.o.cpuProfDir, '--cpu-prof-name', `${id}-${Date.now()}.cpuprofile`] : [];
    const args = [
      ...nodeFlags, SERVER_MAIN, '--id', id, '--listen', this.addresses[i]!, '--peer-listen', this.peerAddresses[i]!, '--data-dir', this.dataDir(id),
      '--log-file', this.logFile(id), '--log-level', this.o.logLevel ?? 'info', '--cluster-secret-file', join(this.root, 'cluster.secret'), ...LOAD_TEST_LIMITS,
      ...(peers ? ['--peers', peers] : []), ...(this.o.args ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4_000);
      this.stderr.set(id, err);
    });
    child.once('exit', () => live.delete(child));
    live.add(child);
    this.procs.set(id, child);
    this.startedAt.set(id, Date.now());
  }
}
