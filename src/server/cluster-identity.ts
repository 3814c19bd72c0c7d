/**
 * A cluster's identity on the wire: its name, and for a cluster restored from
 * a backup a cluster id besides (kept in the data directory's `cluster-id`
 * file by `chat-server restore`, or given to a replica that joins it with
 * --cluster-id). Every peer message carries the identity and replicas refuse
 * messages of another, so a restored cluster and the one its backup came from
 * (same name, same replica ids, perhaps the same addresses) never mix.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './replication/endpoints.js';

export const CLUSTER_ID_FILE = 'cluster-id';
const ID_PATTERN = /^[0-9a-f]{8,64}$/;

export function checkClusterId(id: string, what: string): string {
  if (!ID_PATTERN.test(id)) throw new ConfigError(`${what} "${id}" is not a cluster id (8-64 lowercase hex digits)`);
  return id;
}

/** The data directory's cluster id ('' for a cluster that was never restored). */
export function readClusterId(dataDir: string): string {
  const path = join(dataDir, CLUSTER_ID_FILE);
  if (!existsSync(path)) return '';
  return checkClusterId(readFileSync(path, 'utf8').trim(), `${path} holds`);
}

export function writeClusterId(dataDir: string, id: string): void {
  writeFileSync(join(dataDir, CLUSTER_ID_FILE), `${checkClusterId(id, 'cluster id')}\n`, { mode: 0o644 });
}

/**
 * The cluster id this start runs with: the data directory's, or the one given
 * (--cluster-id, for a replica joining a restored cluster), recorded on first
 * use. A data directory of one id never runs with another.
 */
export function settleClusterId(dataDir: string, given: string | undefined): string {
  const stored = readClusterId(dataDir);
  if (given === undefined || given === stored) return stored;
  if (stored !== '')
    throw new ConfigError(`the data directory ${dataDir} belongs to cluster id ${stored}, not ${given}`);
  writeClusterId(dataDir, given);
  return given;
}

/** What peer messages carry as the cluster: the name, and the id of a restored cluster. */
export function wireCluster(name: string, clusterId: string): string {
  return clusterId === '' ? name : `${name}/${clusterId}`;
}
