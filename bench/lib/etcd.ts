/**
 * A three-member etcd on this machine, for comparing with the chat cluster in
 * the same run: members on free loopback ports, each with a fresh data
 * directory under one temp root, etcd's own defaults otherwise (fsync on every
 * write batch, as the chat replicas do). stop() kills every member and removes
 * the root.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../../src/launch/process-cluster/ports.js';
import { sleep, waitFor } from './clock.js';
import { etcdStatus } from './etcd-client.js';

/** What the report says when etcd is missing. */
export const ETCD_MISSING =
  'no `etcd` on PATH, so the comparison with etcd was skipped: install etcd 3.4 (Debian/Ubuntu: `sudo apt-get install etcd-server`) and run the bench again';

/** The etcd binary on PATH, or undefined. */
export function findEtcd(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, 'etcd');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The version `etcd --version` prints first ("etcd Version: 3.4.23"), e.g. "3.4.23". */
export function etcdVersion(binary: string): string {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return /Version:\s*(\S+)/.exec(out.stdout ?? '')?.[1] ?? 'of unknown version';
}

interface Member {
  name: string;
  clientAddress: string;
  peerUrl: string;
  dataDir: string;
  logFile: string;
  child?: ChildProcess;
}

export class EtcdCluster {
  private stopped = false;

  private constructor(
    readonly root: string,
    private readonly members: Member[],
  ) {}

  static async start(binary: string, size = 3): Promise<EtcdCluster> {
    const root = mkdtempSync(join(tmpdir(), 'chat-bench-etcd-'));
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      const name = `etcd${i}`;
      members.push({
        name,
        clientAddress: `127.0.0.1:${await freePort()}`,
        peerUrl: `http://127.0.0.1:${await freePort()}`,
        dataDir: join(root, name),
        logFile: join(root, `${name}.log`),
      });
    }
    const cluster = new EtcdCluster(root, members);
    const initial = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const token = `chat-bench-${process.pid}-${Date.now()}`;
    for (const m of members) {
      const log = openSync(m.logFile, 'a');
      m.child = spawn(
        binary,
        [
          '--name',
          m.name,
          '--data-dir',
          m.dataDir,
          '--listen-client-urls',
          `http://${m.clientAddress}`,
          '--advertise-client-urls',
          `http://${m.clientAddress}`,
          '--listen-peer-urls',
          m.peerUrl,
          '--initial-advertise-peer-urls',
          m.peerUrl,
          '--initial-cluster',
          initial,
          '--initial-cluster-state',
          'new',
          '--initial-cluster-token',
          token,
          '--logger',
          'zap',
          '--log-outputs',
          'stderr',
          '--log-level',
          'warn',
        ],
        { stdio: ['ignore', log, log] },
      );
      closeSync(log);
      m.child.on('error', () => undefined);
    }
    try {
      await cluster.waitForLeader(60_000);
    } catch (err) {
      const tails = members.map((m) => `--- ${m.name}\n${cluster.logTail(m, 8)}`).join('\n');
      await cluster.stop();
      throw new Error(`${(err as Error).message}\n${tails}`);
    }
    return cluster;
  }

  get addresses(): string[] {
    return this.members.map((m) => m.clientAddress);
  }

  /** Member name → pid, for CPU readings. */
  pids(): Record<string, number | undefined> {
    return Object.fromEntries(this.members.map((m) => [m.name, m.child?.exitCode === null ? m.child.pid : undefined]));
  }

  /** The client address of the member every member names as leader. */
  waitForLeader(timeoutMs = 20_000): Promise<string> {
    return waitFor(
      'an etcd leader that every member knows',
      timeoutMs,
      async () => {
        const all = await Promise.all(this.members.map((m) => etcdStatus(m.clientAddress)));
        const leader = all[0]!.leaderId;
        if (leader === '0' || !all.every((s) => s.leaderId === leader)) return undefined;
        const i = all.findIndex((s) => s.memberId === leader);
        return i >= 0 ? this.members[i]!.clientAddress : undefined;
      },
      100,
    );
  }

  private logTail(m: Member, lines: number): string {
    try {
      return readFileSync(m.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const exits = this.members.map(
      (m) =>
        new Promise<void>((resolve) => {
          const child = m.child;
          if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    );
    await Promise.race([Promise.all(exits), sleep(10_000)]);
    rmSync(this.root, { recursive: true, force: true });
  }
}
