/** Where the local cluster lives: its replicas' ids and loopback ports, its data folder, its control socket. */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPLICA_IDS = ['A', 'B', 'C', 'D', 'E', 'F', 'G'];
export const DEFAULT_REPLICAS = 3;
export const DEFAULT_BASE_PORT = 50051;
/** Replica X keeps its data in `<root>/X` and its log in `<root>/X.log`. */
export const DEFAULT_DATA_ROOT = '.data';
/** The runner's lock (and pid file) in the data folder: `cluster.lock`, `cluster.pid`. */
export const RUNNER_LOCK = 'cluster';
/** The local cluster's secret and admin token, made (0600) in its data folder on its first start. */
export const CLUSTER_SECRET_FILE = 'cluster.secret';
export const ADMIN_TOKEN_FILE = 'admin-token';

export interface LocalReplica {
  id: string;
  address: string;
}

export function localReplicas(basePort = DEFAULT_BASE_PORT, count = DEFAULT_REPLICAS): LocalReplica[] {
  return REPLICA_IDS.slice(0, count).map((id, i) => ({ id, address: `127.0.0.1:${basePort + i}` }));
}

export function localAddresses(basePort = DEFAULT_BASE_PORT, count = DEFAULT_REPLICAS): string[] {
  return localReplicas(basePort, count).map((r) => r.address);
}

/**
 * The socket the running runner takes commands on: in the data folder, unless
 * that path is too long for a Unix socket (about 100 bytes); then in the temp
 * directory under a name derived from the folder.
 */
export function controlSocketPath(root: string): string {
  const inRoot = join(root, 'cluster.sock');
  if (Buffer.byteLength(inRoot) <= 100) return inRoot;
  return join(tmpdir(), `chat-cluster-${createHash('sha256').update(root).digest('hex').slice(0, 16)}.sock`);
}
