/**
 * Real chat-server processes on free loopback ports for the benchmarks and the
 * chaos run: each replica has its own data directory under one temp root, its
 * log in a file, and a known pid (for /proc CPU readings, SIGSTOP/SIGCONT and
 * CPU profiles). Everything started here is killed and removed by stop().
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterClient } from '../../src/client/index.js';
import type { ReplicaStatusView } from '../../src/client/index.js';
import { freePort } from '../../src/launch/process-cluster/ports.js';
import { ProcessCluster } from '../../src/launch/process-cluster/process-cluster.js';
import { sleep, waitFor } from './clock.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SERVER_MAIN = join(REPO_ROOT, 'dist/server/main.js');

/**
 * Rate limits out of the way of load that chats hard from one address and a
 * few sessions (benchmarks, and tests; a test of the limits gives its own,
 * later on the command line, which wins).
 */
export const LOAD_TEST_LIMITS = [
  '--send-limit-session',
  '100000/1s',
  '--login-limit-address',
  '100000/1s',
  '--login-limit-account',
  '100000/1s',
];

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
  private stopped = false;

  private constructor(
    private readonly procs: ProcessCluster,
    root: string,
  ) {
    this.ids = procs.ids;
    this.addresses = procs.addresses;
    this.root = root;
    this.ops = new ClusterClient({ servers: procs.addresses, deadlineMs: 2_000 });
  }

  static async start(options: BenchClusterOptions = {}): Promise<BenchCluster> {
    if (!existsSync(SERVER_MAIN)) throw new Error(`${SERVER_MAIN} is missing: run \`npm run build\` first`);
    const n = options.replicas ?? 3;
    const replicas = [];
    for (let i = 0; i < n; i++)
      replicas.push({
        id: String.fromCharCode(65 + i),
        address: `127.0.0.1:${await freePort()}`,
        peerAddress: `127.0.0.1:${await freePort()}`,
      });
    const root = mkdtempSync(join(options.parentDir ?? tmpdir(), 'chat-bench-'));
    const secretFile = join(root, 'cluster.secret');
    writeFileSync(secretFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
    const { cpuProfDir } = options;
    const procs = new ProcessCluster({
      serverMain: SERVER_MAIN,
      root,
      replicas,
      logLevel: options.logLevel ?? 'info',
      // The subscriptions scenario holds 1,000 clients open from one address (the default allows 200).
      args: [
        '--cluster-secret-file',
        secretFile,
        ...LOAD_TEST_LIMITS,
        '--max-connections-per-address',
        '100000',
        ...(options.args ?? []),
      ],
      nodeArgs: cpuProfDir
        ? (id) => ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', `${id}-${Date.now()}.cpuprofile`]
        : undefined,
    });
    const cluster = new BenchCluster(procs, root);
    for (const id of procs.ids) {
      if (options.seedDataDir) cpSync(options.seedDataDir, procs.dataDir(id), { recursive: true });
      mkdirSync(procs.dataDir(id), { recursive: true });
      procs.start(id);
    }
    if (options.waitForLeader ?? true) {
      try {
        await cluster.waitForLeader(60_000);
      } catch (err) {
        const tails = procs.ids.map((id) => `--- ${id}\n${cluster.logTail(id, 8)}\n${procs.stderrTail(id)}`).join('\n');
        await cluster.stop();
        throw new Error(`${(err as Error).message}\n${tails}`);
      }
    }
    return cluster;
  }

  addressOf(id: string): string {
    return this.procs.addressOf(id);
  }

  idOf(address: string): string {
    return this.procs.idOf(address);
  }

  dataDir(id: string): string {
    return this.procs.dataDir(id);
  }

  logFile(id: string): string {
    return this.procs.logFile(id);
  }

  pid(id: string): number | undefined {
    return this.procs.pid(id);
  }

  pids(): Record<string, number | undefined> {
    return Object.fromEntries(this.ids.map((id) => [id, this.pid(id)]));
  }

  isRunning(id: string): boolean {
    return this.procs.isRunning(id);
  }

  /** When the replica's current process was spawned (ms, wall clock). */
  spawnTime(id: string): number {
    return this.procs.spawnTime(id);
  }

  /**
   * Sends `signal` (default SIGKILL) and resolves once the process has exited.
   * Any other signal goes to a resumed process and is followed by SIGKILL if it
   * has not exited after 15 s.
   */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (signal === 'SIGKILL') return this.procs.kill(id);
    if (!this.isRunning(id)) return;
    this.procs.resume(id);
    await this.procs.stop(id, { signal, graceMs: 15_000 });
  }

  /** Sends a signal without waiting (SIGSTOP / SIGCONT pauses). */
  signal(id: string, signal: NodeJS.Signals): void {
    this.procs.signal(id, signal);
  }

  /** Starts a stopped replica again on its port and data directory; resolves when it answers a status call. */
  async restart(id: string, options: { wait?: boolean } = {}): Promise<void> {
    if (this.isRunning(id)) throw new Error(`replica ${id} is still running`);
    mkdirSync(this.dataDir(id), { recursive: true });
    this.procs.start(id);
    if (options.wait ?? true) await this.procs.waitForAnswer(id, 30_000);
  }

  status(id: string): Promise<ReplicaStatusView> {
    return this.ops.status(this.addressOf(id));
  }

  /** The id of the replica that leads, has applied what it committed and serves. */
  waitForLeader(timeoutMs = 20_000): Promise<string> {
    return this.procs.waitForLeader(timeoutMs);
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
    return waitFor(
      'every replica to apply the same index',
      timeoutMs,
      async () => {
        const all = await Promise.all(this.ids.filter((id) => this.isRunning(id)).map((id) => this.status(id)));
        const first = all[0]!;
        return all.every((s) => s.appliedIndex === first.appliedIndex && s.commitIndex === first.appliedIndex)
          ? first.appliedIndex
          : undefined;
      },
      100,
    );
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
    return this.procs.logTail(id, lines);
  }

  /** Stops every replica (gracefully when asked, so CPU profiles get written) and removes the temp root. */
  async stop(options: { graceful?: boolean; keep?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.ids.map((id) => this.kill(id, options.graceful ? 'SIGTERM' : 'SIGKILL')));
    stoppedClusterIncidents.push(this.incidents());
    this.ops.close();
    this.procs.close();
    // Give the OS a moment to release the data files before removing them.
    await sleep(20);
    if (!options.keep) rmSync(this.root, { recursive: true, force: true });
  }
}
