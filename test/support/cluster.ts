/**
 * Real chat-server processes on free loopback ports (a client and a peer port
 * each), each with its own temp data directory, sharing a cluster secret and an
 * admin token, for tests: the shared process cluster
 * (src/launch/process-cluster) behind the interface the tests use. Everything
 * is killed and removed by stop().
 */
import type * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOAD_TEST_LIMITS } from '../../bench/lib/cluster.js';
import type { ReplicaStatus } from '../../src/gen/chat/v1/cluster.js';
import { freePort } from '../../src/launch/process-cluster/ports.js';
import { ProcessCluster } from '../../src/launch/process-cluster/process-cluster.js';

export { freePort } from '../../src/launch/process-cluster/ports.js';
export { waitUntil } from '../../src/launch/process-cluster/wait.js';
export { LOAD_TEST_LIMITS };

export const SERVER_MAIN = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url));

export interface TestCluster {
  /** host:port of each replica, in id order. */
  addresses: string[];
  ids: string[];
  addressOf(id: string): string;
  /** host:port of the replica's peer listener. */
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
  /** Rewrites a replica's command line at each start (e.g. another build for some replicas). */
  command?: (id: string, argv: string[]) => string[];
}

/** A replica could not bind a port freePort had found free: another test file's process took it in between. */
class PortTakenError extends Error {}

/** Attempts at a cluster with fresh ports when a port was taken between picking it and binding it. */
const PORT_ATTEMPTS = 3;

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  if (!existsSync(SERVER_MAIN)) throw new Error(`${SERVER_MAIN} is missing: run \`npm run build\` first`);
  // Test files run in parallel, and a free port may be taken before a replica binds it. Fresh clusters only: a data
  // directory the test prepared may already hold what the failed start wrote.
  const attempts = options.dataDirs ? 1 : PORT_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(options);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= attempts) throw err;
    }
  }
}

async function startClusterOnce(options: ClusterOptions): Promise<TestCluster> {
  const n = options.replicas ?? 3;
  const replicas = [];
  for (let i = 0; i < n; i++)
    replicas.push({
      id: String.fromCharCode(65 + i),
      address: `127.0.0.1:${await freePort()}`,
      peerAddress: `127.0.0.1:${await freePort()}`,
    });
  const root = mkdtempSync(join(tmpdir(), 'chat-cluster-'));
  const secret = randomBytes(24).toString('base64url');
  const adminToken = randomBytes(24).toString('base64url');
  const secretFile = join(root, 'cluster.secret');
  const adminTokenFile = join(root, 'admin-token');
  writeFileSync(secretFile, secret, { mode: 0o600 });
  writeFileSync(adminTokenFile, adminToken, { mode: 0o600 });
  let portTaken: (why: string) => void = () => undefined;
  const tookPort = new Promise<never>((_, reject) => {
    portTaken = (why) => reject(new PortTakenError(why));
  });
  tookPort.catch(() => undefined);
  const procs = new ProcessCluster({
    serverMain: SERVER_MAIN,
    root,
    replicas,
    dataDirs: options.dataDirs,
    logLevel: 'debug',
    credentials: options.credentials,
    command: options.command,
    args: [
      '--cluster-secret-file',
      secretFile,
      '--admin-token-file',
      adminTokenFile,
      ...LOAD_TEST_LIMITS,
      ...(options.args ?? []),
    ],
    onExit: (id, exit, stderr) => {
      if (exit.code !== 0 && exit.code !== null && exit.signal === null)
        process.stderr.write(`replica ${id} exited with ${exit.code}: ${stderr}\n`);
      if (/the port is already in use/.test(stderr)) portTaken(`replica ${id}: ${stderr.trim()}`);
    },
  });
  procs.startAll();
  const cluster: TestCluster = {
    addresses: procs.addresses,
    ids: procs.ids,
    addressOf: (id) => procs.addressOf(id),
    peerAddressOf: (id) => procs.peerAddressOf(id)!,
    secret,
    secretFile,
    adminToken,
    adminTokenFile,
    dataDir: (id) => procs.dataDir(id),
    logFile: (id) => procs.logFile(id),
    kill: (id, signal) => procs.kill(id, signal),
    restart: async (id) => {
      if (procs.isRunning(id)) throw new Error(`replica ${id} is still running`);
      procs.start(id);
      await procs.waitForAnswer(id, 15_000);
    },
    spawnJoining: async (id) => {
      procs.addJoining(id, `127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`);
      procs.start(id);
      await procs.waitForAnswer(id, 15_000);
      return procs.addressOf(id);
    },
    isRunning: (id) => procs.isRunning(id),
    pid: (id) => {
      const pid = procs.pid(id);
      if (pid === undefined) throw new Error(`replica ${id} is not running`);
      return pid;
    },
    waitForLeader: (timeoutMs) => procs.waitForLeader(timeoutMs),
    status: (id) => procs.status(id),
    stop: async () => {
      await procs.killAll();
      procs.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await Promise.race([procs.waitForLeader(30_000), tookPort]);
  } catch (err) {
    const logs = procs.ids.map((id) => procs.logTail(id, 5));
    await cluster.stop();
    if (err instanceof PortTakenError) throw err;
    throw new Error(`${(err as Error).message}\n${logs.join('\n---\n')}`);
  }
  return cluster;
}
