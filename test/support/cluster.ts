/**
 * Real chat-server processes on free loopback ports (a client and a peer port
 * each), each with its own temp data directory, sharing a cluster secret and an
 * admin token, for tests. Everything is killed and removed by stop().
 */
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOAD_TEST_LIMITS } from '../../bench/lib/cluster.js';
import { ClusterServiceClient, Role, type ReplicaStatus } from '../../src/gen/chat/v1/cluster.js';

export { LOAD_TEST_LIMITS };

export const SERVER_MAIN = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url));

export interface TestCluster {
  /** host:port of each replica, in id order. */
  addresses: string[];
  /** host:port of each replica's peer listener, in id order. */
  peerAddresses: string[];
  ids: string[];
  addressOf(id: string): string;
  peerAddressOf(id: string): string;
  /** The cluster secret the replicas prove to each other, and the file holding it. */
  secret: string;
  secretFile: string;
  /** The operators' admin token, and the file holding it. */
  adminToken: string;
  adminTokenFile: string;
  dataDir(id: string): string;
  logFile(id: string): string;
  /** Default SIGKILL; resolves when the process has exited. */
  kill(id: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(id: string): Promise<void>;
  /**
   * Starts a new replica with --join (an empty configuration, waiting to be
   * added) on a free port, and adds it to `ids`/`addresses`; resolves with its
   * address once it answers.
   */
  spawnJoining(id: string): Promise<string>;
  isRunning(id: string): boolean;
  /** The process id of a running replica (for SIGSTOP/SIGCONT). */
  pid(id: string): number;
  /** The id of the replica that leads and serves, waiting up to timeoutMs for one. */
  waitForLeader(timeoutMs?: number): Promise<string>;
  status(id: string): Promise<ReplicaStatus>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  replicas?: number;
  /** Extra chat-server options for every replica. */
  args?: string[];
  /** A data directory of its own for some replicas, by id (default: one in the cluster's temp dir). */
  dataDirs?: Record<string, string>;
  /** Credentials the harness itself uses to ask replicas for their status (for clusters started with TLS). */
  credentials?: grpc.ChannelCredentials;
}

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
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** Polls `probe` until it gives something other than undefined or false; fails clearly after `timeoutMs`. */
export async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false> | T | undefined | false, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  if (!existsSync(SERVER_MAIN)) throw new Error(`${SERVER_MAIN} is missing: run \`npm run build\` first`);
  const n = options.replicas ?? 3;
  const ids = Array.from({ length: n }, (_, i) => String.fromCharCode(65 + i));
  const ports = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  const addresses = ports.map((p) => `127.0.0.1:${p}`);
  const peerAddresses: string[] = [];
  for (let i = 0; i < n; i++) peerAddresses.push(`127.0.0.1:${await freePort()}`);
  const root = mkdtempSync(join(tmpdir(), 'chat-cluster-'));
  const secret = randomBytes(24).toString('base64url');
  const adminToken = randomBytes(24).toString('base64url');
  const secretFile = join(root, 'cluster.secret');
  const adminTokenFile = join(root, 'admin-token');
  writeFileSync(secretFile, secret, { mode: 0o600 });
  writeFileSync(adminTokenFile, adminToken, { mode: 0o600 });
  const procs = new Map<string, ChildProcess>();
  const clients = new Map<string, ClusterServiceClient>();
  const index = (id: string) => {
    const i = ids.indexOf(id);
    if (i < 0) throw new Error(`no replica ${id} in this cluster`);
    return i;
  };

  const founders = n;
  const dataDir = (id: string) => options.dataDirs?.[id] ?? join(root, id);
  const spawnReplica = (id: string) => {
    const i = index(id);
    // Replicas added later start with --join and name no peers: the configuration they receive does.
    const joining = i >= founders;
    const peers = joining ? '' : ids.slice(0, founders).filter((p) => p !== id).map((p) => `${p}=${addresses[ids.indexOf(p)]}/${peerAddresses[ids.indexOf(p)]}`).join(',');
    const args = [SERVER_MAIN, '--id', id, '--listen', addresses[i]!, '--peer-listen', peerAddresses[i]!, '--data-dir', dataDir(id), '--log-file', join(root, `${id}.log`), '--log-level', 'debug',
      '--cluster-secret-file', secretFile, '--admin-token-file', adminTokenFile, ...LOAD_TEST_LIMITS,
      ...(peers ? ['--peers', peers] : []), ...(joining ? ['--join'] : []), ...(options.args ?? [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code, signal) => {
      live.delete(child);
      if (code !== 0 && code !== null && signal === null) process.stderr.write(`replica ${id} exited with ${code}: ${stderr}\n`);
    });
    live.add(child);
    procs.set(id, child);
  };

  const client = (id: string) => {
    let c = clients.get(id);
    if (!c) {
      c = new ClusterServiceClient(addresses[index(id)]!, options.credentials ?? grpc.credentials.createInsecure(), { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 200 });
      clients.set(id, c);
    }
    return c;
  };

  const status = (id: string) =>
    new Promise<ReplicaStatus>((resolve, reject) => {
      client(id).getStatus({}, new grpc.Metadata(), { deadline: Date.now() + 1000 }, (err, res) => (err ? reject(err) : resolve(res)));
    });

  const isRunning = (id: string) => {
    const p = procs.get(id);
    return !!p && p.exitCode === null && p.signalCode === null;
  };

  const waitForLeader = (timeoutMs = 20_000) =>
    waitUntil('a leader', timeoutMs, async () => {
      const answers = await Promise.all(ids.filter(isRunning).map((id) => status(id).catch(() => undefined)));
      const leader = answers.find((s) => s?.role === Role.ROLE_LEADER && s.appliedIndex >= s.commitIndex && s.commitIndex > 0);
      return leader?.id;
    });

  const kill = async (id: string, signal: NodeJS.Signals = 'SIGKILL') => {
    const p = procs.get(id);
    if (!p || !isRunning(id)) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(signal);
    await exited;
  };

  for (const id of ids) spawnReplica(id);
  const cluster: TestCluster = {
    addresses,
    peerAddresses,
    ids,
    addressOf: (id) => addresses[index(id)]!,
    peerAddressOf: (id) => peerAddresses[index(id)]!,
    secret,
    secretFile,
    adminToken,
    adminTokenFile,
    dataDir,
    logFile: (id) => join(root, `${id}.log`),
    kill,
    restart: async (id) => {
      if (isRunning(id)) throw new Error(`replica ${id} is still running`);
      spawnReplica(id);
      await waitUntil(`replica ${id} to answer`, 15_000, () => status(id).then(() => true));
    },
    spawnJoining: async (id) => {
      if (ids.includes(id)) throw new Error(`replica ${id} already exists`);
      ids.push(id);
      addresses.push(`127.0.0.1:${await freePort()}`);
      peerAddresses.push(`127.0.0.1:${await freePort()}`);
      spawnReplica(id);
      await waitUntil(`replica ${id} to answer`, 15_000, () => status(id).then(() => true));
      return addresses[index(id)]!;
    },
    isRunning,
    pid: (id) => {
      const p = procs.get(id);
      if (!p?.pid || !isRunning(id)) throw new Error(`replica ${id} is not running`);
      return p.pid;
    },
    waitForLeader,
    status,
    stop: async () => {
      await Promise.all(ids.map((id) => kill(id, 'SIGKILL')));
      for (const c of clients.values()) c.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await waitForLeader(30_000);
  } catch (err) {
    const logs = ids.map((id) => (existsSync(cluster.logFile(id)) ? readFileSync(cluster.logFile(id), 'utf8').split('\n').slice(-5).join('\n') : '(no log)'));
    await cluster.stop();
    throw new Error(`${(err as Error).message}\n${logs.join('\n---\n')}`);
  }
  return cluster;
}
